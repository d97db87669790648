/**
 * The resource limits of the daemon and the defaults of each guest (docs/resources.md lists every
 * resource with its limit and its counter).
 */

export interface ResourceLimits {
  /** sockets open at once in the whole daemon, all guests together (the paper's example: 100) */
  maxSockets: number;
  /** a guest's socket quota when its configuration gives none (GuestConfig.maxSockets) */
  guestMaxSockets: number;
  /**
   * sockets every guest can always open however many the others hold (up to its own quota): a guest may
   * not take the daemon's last sockets while another guest has not used its reserve
   */
  reservedSocketsPerGuest: number;
  /** files open at once in the whole daemon */
  maxOpenFiles: number;
  /** files a guest may hold open at once */
  guestMaxOpenFiles: number;
  /** bytes a guest may keep in its file sandbox when its configuration gives none (GuestConfig.maxFileBytes) */
  guestMaxFileBytes: number;
  /** bytes received and not yet read by the guest, per socket, before the host stops reading from the network */
  socketReceiveBuffer: number;
  /** bytes queued to send, per socket, before a send answers 0 (the guest waits for room) */
  socketSendBuffer: number;
  /** bytes one file read may answer */
  maxReadBytes: number;
  /**
   * how long the image has to finalize an OS handle after the object that owned it was collected, before
   * the host closes it itself (and counts it as finalized by the host)
   */
  finalizationGraceMs: number;
  /** how long a gracefully closed connection waits for the other end to close before it is aborted */
  closeLingerMs: number;
  /** addresses a guest may listen on (the loopback interface unless configured) */
  listenAddresses: string[];
}

export const DEFAULT_LIMITS: ResourceLimits = {
  maxSockets: 1024,
  guestMaxSockets: 256,
  reservedSocketsPerGuest: 8,
  maxOpenFiles: 1024,
  guestMaxOpenFiles: 256,
  guestMaxFileBytes: 64 * 1024 * 1024,
  socketReceiveBuffer: 256 * 1024,
  socketSendBuffer: 256 * 1024,
  maxReadBytes: 1024 * 1024,
  finalizationGraceMs: 2000,
  closeLingerMs: 2000,
  listenAddresses: ["127.0.0.1", "::1", "localhost"],
};
