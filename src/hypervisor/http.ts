/** HTTP helpers shared by the daemon's routes and the plugins' (JSON answers, errors, bodies). */
import type * as http from "node:http";
import type { HypervisorErrorCode } from "./types.js";


export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

export function httpStatus(code: HypervisorErrorCode): number {
  switch (code) {
    case "notFound": return 404;
    case "alreadyExists": return 409;
    case "invalidArgument": return 400;
    case "failedPrecondition": return 409;
    case "resourceExhausted": return 429;
    default: return 500;
  }
}

/** Reads a JSON request body (at most 1 MiB); an empty body is `{}`. */
export async function readJsonBody(req: http.IncomingMessage, limit = 1024 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, "invalidArgument", `the request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, "invalidArgument", `the request body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new HttpError(400, "invalidArgument", "the request body must be a JSON object");
  return value as Record<string, unknown>;
}
