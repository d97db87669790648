/**
 * Bearer tokens and roles. An Authenticator maps a token to a role: `read` (look only), `control`
 * (lifecycle and mutation) or `admin` (everything, including tokens and files on the server).
 *
 * The daemon's store lives in its data directory:
 *   - `admin.token`: the admin token (one line), created by the daemon with mode 0600;
 *   - `tokens.json`: other tokens, by SHA-256 digest only (the secrets are shown once, when created):
 *       { "version": 1, "tokens": [ { "id": "t_1a2b3c4d5e6f", "name": "ci", "role": "read",
 *                                      "sha256": "…", "createdAt": 1700000000000 } ] }
 * Tokens are created and revoked with the admin-only Hypervisor operations CreateToken, RevokeToken and
 * ListTokens (or `TokenStore` in-process); edits of the files by hand are picked up within a second.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROLES, type Role } from "./schema.js";

export type { Role };

export interface Authenticator {
  /** the role of a token, or undefined when the token is not valid */
  authenticate(token: string): Role | undefined;
}

export interface TokenInfo {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
}

export interface NewToken {
  id: string;
  name: string;
  role: Role;
  /** the secret: shown once */
  token: string;
}

/** Token management, which an Authenticator may also offer (the admin-only operations use it). */
export interface TokenAdmin {
  createToken(role: Role, name: string): NewToken;
  revokeToken(id: string): boolean;
  listTokens(): TokenInfo[];
}

export function isTokenAdmin(x: unknown): x is TokenAdmin {
  return typeof x === "object" && x !== null && typeof (x as TokenAdmin).createToken === "function" && typeof (x as TokenAdmin).revokeToken === "function";
}

export function isRole(x: unknown): x is Role {
  return typeof x === "string" && (ROLES as readonly string[]).includes(x);
}

/** The token of an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== "string") return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : undefined;
}

export function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export function newSecret(role: Role): string {
  return `oz_${role}_${crypto.randomBytes(24).toString("base64url")}`;
}

/** Fixed tokens (tests, embedding). */
export class StaticAuthenticator implements Authenticator {
  private readonly digests = new Map<string, Role>();
  constructor(tokens: Record<string, Role>) {
    for (const [token, role] of Object.entries(tokens)) this.digests.set(sha256(token), role);
  }
  authenticate(token: string): Role | undefined {
    return typeof token === "string" && token.length > 0 ? this.digests.get(sha256(token)) : undefined;
  }
}

interface StoredToken extends TokenInfo {
  sha256: string;
}

export interface TokenStoreOptions {
  /** create admin.token when it is missing (the daemon does) */
  createAdminToken?: boolean;
  /** how often the files are checked for changes, ms (default 1000) */
  reloadIntervalMs?: number;
}

/** The data directory's token files (see the module comment). */
export class TokenStore implements Authenticator, TokenAdmin {
  readonly adminTokenFile: string;
  readonly tokensFile: string;
  private adminDigest: string | undefined;
  private tokens: StoredToken[] = [];
  private byDigest = new Map<string, StoredToken>();
  private checkedAt = 0;
  private adminMtime = -1;
  private tokensMtime = -1;
  private readonly reloadIntervalMs: number;

  constructor(
    readonly dataDir: string,
    options: TokenStoreOptions = {},
  ) {
    this.adminTokenFile = path.join(dataDir, "admin.token");
    this.tokensFile = path.join(dataDir, "tokens.json");
    this.reloadIntervalMs = options.reloadIntervalMs ?? 1000;
    if (options.createAdminToken && !fs.existsSync(this.adminTokenFile)) {
      fs.mkdirSync(dataDir, { recursive: true });
      writeFileAtomic(this.adminTokenFile, `${newSecret("admin")}\n`);
    }
    this.reload(true);
  }

  /** The admin token (for the daemon to print where it is, and for local tools). */
  adminToken(): string | undefined {
    try {
      return fs.readFileSync(this.adminTokenFile, "utf8").trim() || undefined;
    } catch {
      return undefined;
    }
  }

  authenticate(token: string): Role | undefined {
    if (typeof token !== "string" || token.length === 0 || token.length > 4096) return undefined;
    this.reload(false);
    const digest = sha256(token);
    if (this.adminDigest && sameDigest(digest, this.adminDigest)) return "admin";
    return this.byDigest.get(digest)?.role;
  }

  createToken(role: Role, name: string): NewToken {
    if (!isRole(role)) throw new TypeError(`unknown role ${JSON.stringify(role)} (read, control or admin)`);
    this.reload(true);
    const token = newSecret(role);
    const stored: StoredToken = { id: `t_${crypto.randomBytes(6).toString("hex")}`, name: String(name ?? ""), role, createdAt: Date.now(), sha256: sha256(token) };
    this.tokens.push(stored);
    this.save();
    return { id: stored.id, name: stored.name, role, token };
  }

  revokeToken(id: string): boolean {
    this.reload(true);
    const before = this.tokens.length;
    this.tokens = this.tokens.filter((t) => t.id !== id);
    if (this.tokens.length === before) return false;
    this.save();
    return true;
  }

  listTokens(): TokenInfo[] {
    this.reload(false);
    return this.tokens.map(({ id, name, role, createdAt }) => ({ id, name, role, createdAt }));
  }

  private save(): void {
    fs.mkdirSync(this.dataDir, { recursive: true });
    writeFileAtomic(this.tokensFile, JSON.stringify({ version: 1, tokens: this.tokens }, null, 2) + "\n");
    this.index();
    this.tokensMtime = mtimeOf(this.tokensFile);
  }

  private index(): void {
    this.byDigest = new Map(this.tokens.map((t) => [t.sha256, t]));
  }

  private reload(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < this.reloadIntervalMs) return;
    this.checkedAt = now;
    const adminMtime = mtimeOf(this.adminTokenFile);
    if (force || adminMtime !== this.adminMtime) {
      this.adminMtime = adminMtime;
      const admin = this.adminToken();
      this.adminDigest = admin ? sha256(admin) : undefined;
    }
    const tokensMtime = mtimeOf(this.tokensFile);
    if (force || tokensMtime !== this.tokensMtime) {
      this.tokensMtime = tokensMtime;
      this.tokens = readTokens(this.tokensFile);
      this.index();
    }
  }
}

function mtimeOf(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function readTokens(file: string): StoredToken[] {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return [];
  }
  const list = (data as { tokens?: unknown })?.tokens;
  if (!Array.isArray(list)) return [];
  return list.filter(
    (t): t is StoredToken =>
      typeof t === "object" && t !== null && typeof t.id === "string" && isRole(t.role) && typeof t.sha256 === "string" && /^[0-9a-f]{64}$/.test(t.sha256),
  ).map((t) => ({ id: t.id, name: typeof t.name === "string" ? t.name : "", role: t.role, createdAt: typeof t.createdAt === "number" ? t.createdAt : 0, sha256: t.sha256 }));
}

function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
