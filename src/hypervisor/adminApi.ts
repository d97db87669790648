/**
 * The daemon's small admin API over HTTP, for scripts, tests and `curl` (the full remote API, with
 * mirrors, is gRPC and WebSocket: src/remote). Every request needs the admin token
 * (`Authorization: Bearer $OZ_TOKEN`). Bodies and answers are JSON; errors are
 * `{"error": {"code", "message"}}` with 400/401/404/409/429/500.
 *
 *   GET    /v1/guests                          list (GuestInfo[])
 *   GET    /v1/guests/NAME                     info
 *   POST   /v1/guests/NAME                     define   {"image"?: "path", "config"?: {...}}
 *   DELETE /v1/guests/NAME                     destroy
 *   POST   /v1/guests/NAME/start|stop|suspend|resume|interrupt
 *   POST   /v1/guests/NAME/snapshot            -> {"image": "path"}
 *   POST   /v1/guests/NAME/clone               {"target", "fromFile"?, "start"?}
 *   PUT    /v1/guests/NAME/config              the guest's configuration (quotas, weight, startup...)
 *   GET    /v1/guests/NAME/transcript?maxBytes=N   -> text/plain
 *   GET    /v1/guests/NAME/changes[?all=1]     -> {"entries", "truncated", "truncatedAt"?, "file"} (GuestChanges)
 *   POST   /v1/guests/NAME/evaluate            {"source", "budgetMs"?} -> {"ok", "printString"} or the error
 *   GET    /v1/daemon                          daemon figures
 */
import type * as http from "node:http";
import type { Daemon, HttpHandler } from "./daemon.js";
import { HttpError, readJsonBody, sendJson } from "./http.js";
import type { GuestConfig } from "./types.js";

function str(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string") throw new HttpError(400, "invalidArgument", `${key}: must be a string`);
  return v;
}

async function guests(req: http.IncomingMessage, res: http.ServerResponse, daemon: Daemon): Promise<void> {
  const hv = daemon.hypervisor;
  const url = new URL(req.url ?? "/", "http://localhost");
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  // parts: ["v1", "guests", NAME?, VERB?]
  const method = req.method ?? "GET";
  if (parts[0] !== "v1") throw new HttpError(404, "notFound", `no route ${url.pathname}`);
  if (parts[1] === "daemon" && parts.length === 2 && method === "GET") {
    return sendJson(res, 200, { ...daemon.health(), stats: hv.daemonStats() });
  }
  if (parts[1] !== "guests" || parts.length > 4) throw new HttpError(404, "notFound", `no route ${url.pathname}`);
  const name = parts[2];
  const verb = parts[3];
  if (name === undefined) {
    if (method !== "GET") throw new HttpError(405, "invalidArgument", `${method} ${url.pathname}: use GET`);
    return sendJson(res, 200, hv.list());
  }
  if (verb === undefined) {
    if (method === "GET") return sendJson(res, 200, hv.info(name));
    if (method === "DELETE") {
      await hv.destroy(name);
      return sendJson(res, 200, { destroyed: name });
    }
    if (method === "POST" || method === "PUT") {
      const body = await readJsonBody(req);
      const config = body.config as Omit<GuestConfig, "name"> | undefined;
      if (config !== undefined && (typeof config !== "object" || config === null)) throw new HttpError(400, "invalidArgument", "config: must be an object");
      return sendJson(res, 201, await hv.define(name, { image: str(body, "image", false), config }));
    }
    throw new HttpError(405, "invalidArgument", `${method} ${url.pathname}: use GET, POST or DELETE`);
  }
  if (verb === "transcript" && method === "GET") {
    const max = url.searchParams.get("maxBytes");
    const text = hv.transcript(name, max === null ? undefined : Math.max(0, Number(max) || 0));
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
    res.end(text);
    return;
  }
  if (verb === "changes" && method === "GET") {
    const all = url.searchParams.get("all");
    return sendJson(res, 200, hv.changes(name, { all: all !== null && all !== "0" && all !== "false" }));
  }
  if (verb === "config" && (method === "PUT" || method === "POST")) {
    const body = await readJsonBody(req);
    return sendJson(res, 200, await hv.reconfigure(name, body as Omit<GuestConfig, "name">));
  }
  if (method !== "POST") throw new HttpError(405, "invalidArgument", `${method} ${url.pathname}: use POST`);
  switch (verb) {
    case "start": return sendJson(res, 200, await hv.start(name));
    case "stop": return sendJson(res, 200, await hv.stop(name));
    case "suspend": return sendJson(res, 200, await hv.suspend(name));
    case "resume": return sendJson(res, 200, await hv.resume(name));
    case "interrupt": return sendJson(res, 200, await hv.interrupt(name));
    case "snapshot": return sendJson(res, 200, { image: await hv.snapshot(name) });
    case "clone": {
      const body = await readJsonBody(req);
      const target = str(body, "target", true)!;
      const start = body.start === true;
      return sendJson(res, 201, await hv.clone(name, target, { fromFile: str(body, "fromFile", false), start }));
    }
    case "evaluate": {
      const body = await readJsonBody(req);
      const source = str(body, "source", true)!;
      const budgetMs = typeof body.budgetMs === "number" && body.budgetMs > 0 ? body.budgetMs : 30_000;
      const r = await hv.space(name).evaluate(source, { budget: { ms: budgetMs } });
      if (r.ok) {
        const printString = r.printString;
        r.value.release();
        return sendJson(res, 200, { ok: true, printString });
      }
      r.error.release();
      return sendJson(res, 200, { ok: false, errorClass: r.errorClass, messageText: r.messageText, stack: r.stack });
    }
    default:
      throw new HttpError(404, "notFound", `no verb ${verb} (start, stop, suspend, resume, interrupt, snapshot, clone, evaluate, transcript, changes, config)`);
  }
}

export const adminRoutes: Record<string, HttpHandler> = { "/v1": guests };
