/**
 * The `resources` section of ozd's configuration (docs/resources.md): the daemon-wide limits and the
 * per-guest defaults. Every field is optional; absent fields keep DEFAULT_LIMITS.
 *
 *   "resources": {
 *     "maxSockets": 100,              // all guests together
 *     "guestMaxSockets": 32,          // a guest without maxSockets in its configuration
 *     "reservedSocketsPerGuest": 4,   // what each guest can always open
 *     "maxOpenFiles": 1024, "guestMaxOpenFiles": 64, "guestMaxFileBytes": 67108864,
 *     "finalizationGraceMs": 2000, "listenAddresses": ["127.0.0.1", "::1"]
 *   }
 */
import type { ResourceLimits } from "./limits.js";

type Fail = (field: string, problem: string) => never;

const INTEGER_FIELDS = [
  "maxSockets", "guestMaxSockets", "reservedSocketsPerGuest", "maxOpenFiles", "guestMaxOpenFiles", "guestMaxFileBytes",
  "socketReceiveBuffer", "socketSendBuffer", "maxReadBytes", "finalizationGraceMs", "closeLingerMs",
] as const;

export const RESOURCE_FIELDS: readonly string[] = [...INTEGER_FIELDS, "listenAddresses"];

/** Validates the section; `fail` throws the configuration's error for a field ("resources.maxSockets"). */
export function validateResourceLimits(v: unknown, where: string, fail: Fail): Partial<ResourceLimits> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(where, "must be an object of resource limits");
  const doc = v as Record<string, unknown>;
  const out: Partial<ResourceLimits> = {};
  for (const key of Object.keys(doc)) {
    if (key === "comment" || key.startsWith("$")) continue;
    if (!RESOURCE_FIELDS.includes(key)) fail(`${where}.${key}`, `unknown field (known fields: ${RESOURCE_FIELDS.join(", ")})`);
  }
  for (const key of INTEGER_FIELDS) {
    const value = doc[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) fail(`${where}.${key}`, `must be a whole number, 0 or more (got ${JSON.stringify(value)})`);
    out[key] = value;
  }
  if (doc.listenAddresses !== undefined) {
    const list = doc.listenAddresses;
    if (!Array.isArray(list) || list.some((a) => typeof a !== "string" || a === "")) {
      fail(`${where}.listenAddresses`, "must be an array of addresses (e.g. [\"127.0.0.1\", \"::1\"])");
    }
    out.listenAddresses = [...(list as string[])];
  }
  return out;
}
