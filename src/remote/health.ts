/**
 * The standard gRPC health service (grpc.health.v1.Health): Check and Watch. The empty service name is
 * the server as a whole. It needs no token, so that load balancers and probes can use it; it says nothing
 * but SERVING / NOT_SERVING.
 */
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "./protos.js";

export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(s: ServingStatus) => void>>();
  private readonly calls = new Set<grpc.ServerWritableStream<unknown, unknown>>();

  constructor(services: string[]) {
    this.statuses.set("", "SERVING");
    for (const s of services) this.statuses.set(s, "SERVING");
  }

  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const w of this.watchers.get(service) ?? []) w(status);
  }

  /** Every service NOT_SERVING (shutting down). */
  shutdown(): void {
    for (const s of this.statuses.keys()) this.setStatus(s, "NOT_SERVING");
    for (const call of this.calls) call.end();
    this.calls.clear();
  }

  addTo(server: grpc.Server): void {
    server.addService(serviceDefinition("grpc.health.v1.Health") as unknown as grpc.ServiceDefinition, {
      Check: (call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const status = this.statuses.get(call.request?.service ?? "");
        if (!status) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request?.service}` });
        else callback(null, { status });
      },
      Watch: (call: grpc.ServerWritableStream<{ service?: string }, unknown>) => {
        const service = call.request?.service ?? "";
        const send = (status: ServingStatus) => call.write({ status });
        send(this.statuses.get(service) ?? "SERVICE_UNKNOWN");
        let set = this.watchers.get(service);
        if (!set) this.watchers.set(service, (set = new Set()));
        set.add(send);
        this.calls.add(call);
        call.on("cancelled", () => {
          set!.delete(send);
          this.calls.delete(call);
        });
      },
    });
  }
}
