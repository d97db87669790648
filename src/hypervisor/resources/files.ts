/**
 * A guest's file sandbox over Node's `fs` (the FileAdapter of its ResourceAccount): a directory of its own
 * under the data directory, which the guest cannot leave. Paths are relative, with `/` between names;
 * absolute paths, `..` and symbolic links anywhere on the way are refused (the final name is also opened
 * with O_NOFOLLOW). The bytes the guest keeps there count against its quota (`maxFileBytes`, measured
 * when the account first uses the directory and kept up to date by every write, truncation and
 * deletion); a write that would pass it is refused before it starts.
 *
 * Every operation is asynchronous; the operations on one open file run in order (a chain per file), and
 * a descriptor is closed only after the operations started on it ended, so that it is never reused under
 * a pending read or write.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { HostError, type FileAdapter, type FileEntry, type FileMode } from "../../vm/host.js";
import type { ResourceAccount } from "./account.js";

const MAX_DEPTH = 32;
const MAX_NAME = 255;

interface OpenFile {
  id: number;
  fd: number;
  /** the normalized relative path */
  path: string;
  mode: FileMode;
  closed: boolean;
  /** the operations started on the file, in order */
  chain: Promise<unknown>;
  released: (() => void) | undefined;
  ownerDead: boolean;
}

/** Sizes of the files open in the sandbox, shared by the descriptors open on the same path. */
interface SizeEntry {
  size: number;
  refs: number;
}

function errno(e: unknown): NodeJS.ErrnoException {
  return e as NodeJS.ErrnoException;
}

/** A Node error as a HostError about `what`. */
function hostError(e: unknown, what: string): HostError {
  if (e instanceof HostError) return e;
  const code = errno(e).code;
  switch (code) {
    case "ENOENT": return new HostError("notFound", `${what}: no such file or directory`);
    case "ENOTDIR": return new HostError("notFound", `${what}: a part of the path is not a directory`);
    case "EEXIST": return new HostError("exists", `${what}: already exists`);
    case "EISDIR": return new HostError("invalid", `${what}: is a directory`);
    case "ENOTEMPTY": return new HostError("invalid", `${what}: the directory is not empty`);
    case "ELOOP": return new HostError("accessDenied", `${what}: symbolic links are not followed`);
    case "EACCES":
    case "EPERM": return new HostError("accessDenied", `${what}: permission denied`);
    case "EMFILE":
    case "ENFILE": return new HostError("limitExceeded", `${what}: the daemon is out of file descriptors`);
    default: return new HostError("io", `${what}: ${code ?? ""} ${e instanceof Error ? e.message : String(e)}`.trim());
  }
}

function denied(message: string): HostError {
  return new HostError("accessDenied", message);
}

/**
 * The names of a sandbox path, or an error: relative, `/`-separated, no `..`, no NUL, no backslash.
 * "" and "." name the sandbox itself.
 */
export function sandboxNames(p: string): string[] {
  if (typeof p !== "string") throw new HostError("invalid", "a path must be a String");
  if (p.includes("\0")) throw denied(`'${p}': a path may not contain NUL`);
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p)) throw denied(`'${p}': absolute paths are refused (paths are relative to the guest's directory)`);
  if (p.includes("\\")) throw denied(`'${p}': use / between names`);
  const names = p.split("/").filter((n) => n !== "" && n !== ".");
  if (names.includes("..")) throw denied(`'${p}': '..' is refused (a guest cannot leave its directory)`);
  if (names.length > MAX_DEPTH) throw new HostError("invalid", `'${p}': more than ${MAX_DEPTH} levels`);
  for (const n of names) if (Buffer.byteLength(n) > MAX_NAME) throw new HostError("invalid", `'${p}': a name is longer than ${MAX_NAME} bytes`);
  return names;
}

function lstat(p: string): Promise<fs.Stats | undefined> {
  return fs.promises.lstat(p).then(
    (s) => s,
    (e: unknown) => {
      if (errno(e).code === "ENOENT") return undefined;
      throw e;
    },
  );
}

function openFd(p: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(p, flags, 0o644, (e, fd) => (e ? reject(e) : resolve(fd))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => fs.close(fd, () => resolve()));
}

function fstat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (e, s) => (e ? reject(e) : resolve(s))));
}

function readFd(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

function writeFd(fd: number, data: Uint8Array, offset: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.write(fd, data, offset, data.length - offset, position, (e, n) => (e ? reject(e) : resolve(n))),
  );
}

function truncateFd(fd: number, size: number): Promise<void> {
  return new Promise((resolve, reject) => fs.ftruncate(fd, size, (e) => (e ? reject(e) : resolve())));
}

const FLAGS: Record<FileMode, number> = {
  read: fs.constants.O_RDONLY,
  write: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC,
  append: fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND,
  readWrite: fs.constants.O_RDWR | fs.constants.O_CREAT,
};

export class FileSandbox implements FileAdapter {
  private readonly files = new Map<number, OpenFile>();
  private readonly sizes = new Map<string, SizeEntry>();
  private nextId = 1;
  /** measuring the sandbox (done once, when first used) */
  private measured: Promise<void> | undefined;

  constructor(private readonly account: ResourceAccount) {}

  /** Files the guest holds open. */
  get openCount(): number {
    return this.files.size;
  }

  /** The sandbox moved (a new configuration): measure it again when next used. */
  rootChanged(): void {
    this.measured = undefined;
  }

  private root(): string {
    const root = this.account.fileRoot;
    if (root === undefined) throw new HostError("unavailable", "this guest has no file sandbox");
    return root;
  }

  /** Creates the sandbox if needed and counts the bytes already in it. */
  private ready(): Promise<void> {
    if (!this.measured) {
      const root = this.root();
      this.measured = (async () => {
        await fs.promises.mkdir(root, { recursive: true });
        this.account.fileBytes = await measure(root);
      })();
      this.measured.catch(() => {
        this.measured = undefined;
      });
    }
    return this.measured;
  }

  /**
   * The host path of sandbox names, after checking that no directory on the way is a symbolic link (and,
   * with `last`, that the final name is not one either).
   */
  private async resolve(names: string[], what: string, options: { last?: boolean } = {}): Promise<string> {
    await this.ready();
    let p = this.root();
    const checked = options.last === false ? names.length - 1 : names.length;
    for (let i = 0; i < names.length; i++) {
      p = path.join(p, names[i]);
      if (i >= checked) break;
      const s = await lstat(p);
      if (s === undefined) continue;
      if (s.isSymbolicLink()) throw denied(`${what}: symbolic links are refused`);
      if (i < names.length - 1 && !s.isDirectory()) throw new HostError("notFound", `${what}: '${names.slice(0, i + 1).join("/")}' is not a directory`);
    }
    return p;
  }

  private file(id: number): OpenFile {
    const f = this.files.get(id);
    if (!f || f.closed) throw new HostError("closed", `file ${id} is closed`);
    return f;
  }

  /** Runs `op` after the file's earlier operations. */
  private queue<T>(f: OpenFile, op: () => Promise<T>): Promise<T> {
    const result = f.chain.then(op, op);
    f.chain = result.catch(() => undefined);
    return result;
  }

  private sizeOf(p: string): SizeEntry {
    let entry = this.sizes.get(p);
    if (!entry) {
      entry = { size: 0, refs: 0 };
      this.sizes.set(p, entry);
    }
    return entry;
  }

  private isOpen(rel: string): boolean {
    return (this.sizes.get(rel)?.refs ?? 0) > 0;
  }

  // ------------------------------------------------------------------ open files

  open(p: string, mode: FileMode, released?: () => void): Promise<number> {
    const names = sandboxNames(p);
    if (names.length === 0) throw new HostError("invalid", `'${p}': is a directory`);
    this.root();
    this.account.takeFile();
    const rel = names.join("/");
    return (async () => {
      let fd: number | undefined;
      try {
        const hostPath = await this.resolve(names, rel, { last: false });
        const before = mode === "write" ? await lstat(hostPath) : undefined;
        fd = await openFd(hostPath, FLAGS[mode] | fs.constants.O_NOFOLLOW);
        const s = await fstat(fd);
        if (!s.isFile()) throw new HostError("invalid", `${rel}: not a regular file`);
        if (before?.isFile()) this.account.fileBytes -= before.size;
        const entry = this.sizeOf(rel);
        entry.size = s.size;
        entry.refs++;
        const f: OpenFile = {
          id: this.nextId++, fd, path: rel, mode, closed: false, chain: Promise.resolve(), released, ownerDead: false,
        };
        if (this.nextId > 0x3fffffff) this.nextId = 1;
        this.files.set(f.id, f);
        this.account.filesOpened++;
        return f.id;
      } catch (e) {
        if (fd !== undefined) await closeFd(fd);
        this.account.dropFile();
        throw hostError(e, rel);
      }
    })();
  }

  read(id: number, position: number, max: number): Promise<Uint8Array> {
    const f = this.file(id);
    if (f.mode !== "read" && f.mode !== "readWrite") throw new HostError("invalid", `${f.path}: not open for reading`);
    const n = Math.max(0, Math.min(max, this.account.limits.maxReadBytes));
    return this.queue(f, async () => {
      const buffer = Buffer.alloc(n);
      const got = n === 0 ? 0 : await readFd(f.fd, buffer, position).catch((e: unknown) => Promise.reject(hostError(e, f.path)));
      this.account.fileBytesRead += got;
      return new Uint8Array(buffer.buffer, buffer.byteOffset, got);
    });
  }

  write(id: number, position: number, data: Uint8Array): Promise<number> {
    const f = this.file(id);
    if (f.mode === "read") throw new HostError("invalid", `${f.path}: not open for writing`);
    const entry = this.sizeOf(f.path);
    const start = f.mode === "append" ? entry.size : position;
    this.reserve(entry, start + data.length, f.path);
    return this.queue(f, async () => {
      try {
        let done = 0;
        while (done < data.length) {
          done += await writeFd(f.fd, data, done, f.mode === "append" ? null : start + done);
        }
        this.account.fileBytesWritten += done;
        return entry.size;
      } catch (e) {
        await this.resync(f, entry);
        throw hostError(e, f.path);
      }
    });
  }

  /** Counts growth to `end` against the quota, or throws before anything is written. */
  private reserve(entry: SizeEntry, end: number, what: string): void {
    const growth = Math.max(0, end - entry.size);
    if (growth === 0) return;
    if (this.account.fileBytes + growth > this.account.maxFileBytes) {
      this.account.filesRefused++;
      throw new HostError(
        "quotaExceeded",
        `file quota exceeded: writing ${what} would bring guest '${this.account.name}' to ${this.account.fileBytes + growth} bytes (quota ${this.account.maxFileBytes})`,
      );
    }
    this.account.fileBytes += growth;
    entry.size = end;
  }

  /** After a failed write: the size the OS reports. */
  private async resync(f: OpenFile, entry: SizeEntry): Promise<void> {
    try {
      const s = await fstat(f.fd);
      this.account.fileBytes += s.size - entry.size;
      entry.size = s.size;
    } catch {
      // the descriptor is unusable; the size is corrected when the sandbox is measured again
    }
  }

  truncate(id: number, size: number): Promise<void> {
    const f = this.file(id);
    if (f.mode === "read") throw new HostError("invalid", `${f.path}: not open for writing`);
    const entry = this.sizeOf(f.path);
    const old = entry.size;
    if (size > old) this.reserve(entry, size, f.path);
    return this.queue(f, async () => {
      try {
        await truncateFd(f.fd, size);
        if (size < old) {
          this.account.fileBytes -= entry.size - size;
          entry.size = size;
        }
      } catch (e) {
        await this.resync(f, entry);
        throw hostError(e, f.path);
      }
    });
  }

  size(id: number): Promise<number> {
    const f = this.file(id);
    return this.queue(f, async () => this.sizeOf(f.path).size);
  }

  close(id: number): Promise<void> {
    const f = this.file(id);
    if (f.ownerDead) this.account.finalizedByImage++;
    return this.release(f);
  }

  ownerCollected(id: number): void {
    const f = this.files.get(id);
    if (!f || f.closed) return;
    f.ownerDead = true;
    this.account.scheduleBackstop(() => {
      if (f.closed) return;
      this.account.finalizedByHost++;
      void this.release(f);
    });
  }

  /** Closes the descriptor once the operations started on it ended, and gives the slot back. */
  private release(f: OpenFile): Promise<void> {
    if (f.closed) return f.chain.then(() => undefined);
    f.closed = true;
    const done = f.chain.then(async () => {
      await closeFd(f.fd);
      this.files.delete(f.id);
      const entry = this.sizes.get(f.path);
      if (entry && --entry.refs <= 0) this.sizes.delete(f.path);
      this.account.dropFile();
      const released = f.released;
      f.released = undefined;
      released?.();
    });
    f.chain = done;
    return done;
  }

  /** Closes every file (the guest stops); resolves when the descriptors are closed. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => this.release(f)));
  }

  // ------------------------------------------------------------------ paths

  async stat(p: string): Promise<FileEntry | undefined> {
    const names = sandboxNames(p);
    const what = names.join("/") || ".";
    const hostPath = await this.resolve(names, what);
    try {
      const s = await lstat(hostPath);
      if (!s) return undefined;
      return entryOf(names[names.length - 1] ?? "", s, this.sizes.get(names.join("/"))?.size);
    } catch (e) {
      if (errno(e).code === "ENOTDIR") return undefined;
      throw hostError(e, what);
    }
  }

  async delete(p: string): Promise<void> {
    const names = sandboxNames(p);
    const rel = names.join("/");
    if (names.length === 0) throw new HostError("invalid", "the sandbox itself cannot be deleted");
    const hostPath = await this.resolve(names, rel);
    if (this.isOpen(rel)) throw new HostError("invalid", `${rel}: the file is open (close it first)`);
    try {
      const s = await lstat(hostPath);
      if (!s) throw new HostError("notFound", `${rel}: no such file`);
      if (s.isDirectory()) throw new HostError("invalid", `${rel}: is a directory (use deleteDirectory)`);
      await fs.promises.unlink(hostPath);
      this.account.fileBytes -= s.size;
    } catch (e) {
      throw hostError(e, rel);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const a = sandboxNames(from);
    const b = sandboxNames(to);
    const relA = a.join("/");
    const relB = b.join("/");
    if (a.length === 0 || b.length === 0) throw new HostError("invalid", "the sandbox itself cannot be renamed");
    const pa = await this.resolve(a, relA);
    const pb = await this.resolve(b, relB);
    if (this.isOpen(relA) || this.isOpen(relB)) throw new HostError("invalid", `${relA} -> ${relB}: a file is open (close it first)`);
    try {
      const source = await lstat(pa);
      if (!source) throw new HostError("notFound", `${relA}: no such file or directory`);
      const target = await lstat(pb);
      if (target?.isDirectory()) throw new HostError("exists", `${relB}: a directory is in the way`);
      await fs.promises.rename(pa, pb);
      if (target?.isFile()) this.account.fileBytes -= target.size;
    } catch (e) {
      throw hostError(e, `${relA} -> ${relB}`);
    }
  }

  async createDirectory(p: string): Promise<void> {
    const names = sandboxNames(p);
    const rel = names.join("/");
    if (names.length === 0) return;
    const hostPath = await this.resolve(names, rel);
    try {
      await fs.promises.mkdir(hostPath, { recursive: true });
    } catch (e) {
      throw hostError(e, rel);
    }
  }

  async deleteDirectory(p: string): Promise<void> {
    const names = sandboxNames(p);
    const rel = names.join("/");
    if (names.length === 0) throw new HostError("invalid", "the sandbox itself cannot be deleted");
    const hostPath = await this.resolve(names, rel);
    try {
      await fs.promises.rmdir(hostPath);
    } catch (e) {
      throw hostError(e, rel);
    }
  }

  async entries(p: string): Promise<FileEntry[]> {
    const names = sandboxNames(p);
    const rel = names.join("/") || ".";
    const hostPath = await this.resolve(names, rel);
    try {
      const dirents = await fs.promises.readdir(hostPath, { withFileTypes: true });
      const out: FileEntry[] = [];
      for (const d of dirents) {
        if (!d.isFile() && !d.isDirectory()) continue;
        const s = await lstat(path.join(hostPath, d.name));
        if (s) out.push(entryOf(d.name, s, this.sizes.get([...names, d.name].join("/"))?.size));
      }
      return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
    } catch (e) {
      throw hostError(e, rel);
    }
  }
}

function entryOf(name: string, s: fs.Stats, openSize: number | undefined): FileEntry {
  return { name, isDirectory: s.isDirectory(), size: s.isDirectory() ? 0 : openSize ?? s.size, modifiedMs: s.mtimeMs };
}

/** The bytes of the regular files under `dir` (symbolic links are not followed). */
async function measure(dir: string): Promise<number> {
  let total = 0;
  const entries = await fs.promises.readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await measure(p);
    else if (e.isFile()) total += (await fs.promises.lstat(p)).size;
  }
  return total;
}
