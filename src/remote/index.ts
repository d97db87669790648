/**
 * Remote object spaces (design.md sections 5 and 7; the Oz paper's "remote Oz object space, polymorphic
 * with the current one"): gRPC and WebSocket servers of a hypervisor's guests and their mirrors, and a
 * client whose RemoteObjectSpace behaves exactly like the local one. See docs/remote.md.
 */
export { connect, type ConnectOptions, type OzClient } from "./client/connect.js";
export { RemoteObjectSpace } from "./client/space.js";
export { RemoteObjectMirror } from "./client/mirrors.js";
export { RemoteHypervisor, type RemoteHypervisorApi, type SubscribeOptions } from "./client/hypervisor.js";
export { RemoteError, Status, type RemoteErrorCode, type WireError } from "./errors.js";
export {
  StaticAuthenticator, TokenStore, bearerToken, isTokenAdmin, type Authenticator, type NewToken, type Role, type TokenAdmin, type TokenInfo,
  type TokenStoreOptions,
} from "./auth.js";
export { createRemoteServices, grpcServerOptions, DEFAULTS as REMOTE_DEFAULTS, type RemoteServices, type RemoteServicesOptions } from "./services.js";
export { startRemoteServer, type RemoteServerOptions, type RunningRemoteServer, type TlsOptions } from "./server.js";
export { OPERATIONS, MESSAGES, roleAllows } from "./schema.js";
