/**
 * A deterministic tar writer for image layers: the same directory gives the same bytes on every run, whatever
 * the files' timestamps, owners or the order the file system lists them in.
 *
 * - Entries: directories, regular files and symbolic links (not followed), walked recursively and written in
 *   byte order of their path (`Buffer.compare` of the UTF-8 names, independent of the locale); a directory
 *   always comes before what it holds. Hard-linked files are written as separate regular files. Sockets, FIFOs
 *   and devices are refused.
 * - Metadata: every entry gets the same mtime (default 0, the epoch; or a `SOURCE_DATE_EPOCH`-style value),
 *   uid/gid 0 and uname/gname `root` unless other owners are given; modes are kept, masked to 0o7777 (the
 *   permission bits with setuid, setgid and sticky).
 * - Destination: the directory's content may be placed under a prefix (`/app`); the prefix and its parents get
 *   directory entries (mode 0o755 unless given), so the layer creates them in any base.
 * - Format: POSIX ustar headers; a PAX extended header (records sorted by key) carries what ustar cannot hold:
 *   a path or link target longer than 100 bytes or not ASCII, a size of 8 GiB or more, ids above 0o7777777,
 *   user and group names longer than 32 bytes. The archive ends with two zero blocks (no padding to a record
 *   size, as Go's archive/tar writes it).
 *
 * The archive is produced as a stream: file contents are read in 256 KiB pieces while the archive is consumed,
 * never held whole. A file whose size changed between the walk and the read fails the stream (the layer would
 * otherwise not match what was planned).
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { CancelledError, ConfigurationError } from '../errors.js';

export const TAR_BLOCK = 512;
/** The largest value an 11-digit octal ustar field holds (size, mtime): 8 GiB - 1. */
const MAX_OCTAL_11 = 0o77777777777;
/** The largest value a 7-digit octal ustar field holds (uid, gid). */
const MAX_OCTAL_7 = 0o7777777;
const READ_CHUNK = 256 * 1024;

/** Who owns every entry of a layer. */
export interface TarOwner {
  uid: number;
  gid: number;
  uname: string;
  gname: string;
}

export const ROOT_OWNER: Readonly<TarOwner> = { uid: 0, gid: 0, uname: 'root', gname: 'root' };

/** One entry to write. */
export interface TarEntry {
  /** Path inside the archive: relative, `/`-separated, no trailing slash (`app/bin/run`). */
  path: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (masked to 0o7777 when written). */
  mode: number;
  /** Bytes of a regular file's content (0 for the others). */
  size: number;
  /** Where a regular file's content is read from. */
  source?: string;
  /** A symbolic link's target, exactly as the link holds it. */
  linkTarget?: string;
}

/** Options shared by everything that writes entries. */
export interface TarWriteOptions {
  /** Seconds since the epoch written as every entry's mtime (`SOURCE_DATE_EPOCH`). Default 0. */
  mtime?: number;
  /** Default uid/gid 0, uname/gname root. */
  owner?: Partial<TarOwner>;
  signal?: AbortSignal;
}

/** Options of {@link planDirectory}. */
export interface DirectoryPlanOptions {
  /** Where the directory's content goes in the image (`/app`, `opt/app`). Default: the image's root. */
  destination?: string;
  /** Mode of the destination directory and of its parents. Default 0o755. */
  destinationMode?: number;
  signal?: AbortSignal;
}

/**
 * The mtime `SOURCE_DATE_EPOCH` asks for (reproducible-builds.org), or undefined when it is not set. Throws a
 * {@link ConfigurationError} for a value that is not a whole number of seconds.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new ConfigurationError(
      `SOURCE_DATE_EPOCH '${raw}' is not a number of seconds since 1970-01-01 (e.g. $(git log -1 --format=%ct))`,
    );
  }
  return Number(raw);
}

/** Normalises a destination prefix: `/app/` → `app`, `/` or `` → ``; refuses `..`. */
export function normaliseDestination(destination: string | undefined): string {
  if (destination === undefined) return '';
  const parts = destination.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new ConfigurationError(`layer destination '${destination}' must not contain '..'`);
  }
  if (destination.includes('\0')) throw new ConfigurationError('a layer destination must not contain NUL');
  return parts.join('/');
}

const compareBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The entry an lstat describes, or a refusal for types a layer cannot carry. */
async function entryOf(abs: string, path: string, st: Stats): Promise<TarEntry> {
  const mode = st.mode & 0o7777;
  if (st.isDirectory()) return { path, type: 'directory', mode, size: 0 };
  if (st.isFile()) return { path, type: 'file', mode, size: st.size, source: abs };
  if (st.isSymbolicLink()) return { path, type: 'symlink', mode, size: 0, linkTarget: await readlink(abs) };
  const kind = st.isSocket()
    ? 'a socket'
    : st.isFIFO()
      ? 'a named pipe'
      : st.isCharacterDevice() || st.isBlockDevice()
        ? 'a device'
        : 'not a file, directory or symbolic link';
  throw new ConfigurationError(`cannot put '${abs}' in a layer: it is ${kind}`);
}

/**
 * Walks `dir` (recursively, symbolic links not followed) and returns the entries of its layer in the order they
 * are written: the destination's directories first, then every path in byte order.
 */
export async function planDirectory(dir: string, opts: DirectoryPlanOptions = {}): Promise<TarEntry[]> {
  let rootStat: Stats;
  try {
    rootStat = await lstat(dir);
  } catch (err) {
    throw new ConfigurationError(`cannot read layer directory '${dir}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!rootStat.isDirectory()) {
    throw new ConfigurationError(`layer directory '${dir}' is not a directory`);
  }
  const prefix = normaliseDestination(opts.destination);
  const dirMode = (opts.destinationMode ?? 0o755) & 0o7777;
  const entries: TarEntry[] = [];
  if (prefix !== '') {
    const parts = prefix.split('/');
    for (let i = 1; i <= parts.length; i++) {
      entries.push({ path: parts.slice(0, i).join('/'), type: 'directory', mode: dirMode, size: 0 });
    }
  }
  const found: TarEntry[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    if (opts.signal?.aborted) throw new CancelledError();
    const names = await readdir(abs);
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(childAbs);
      const entry = await entryOf(childAbs, prefix === '' ? childRel : `${prefix}/${childRel}`, st);
      found.push(entry);
      if (entry.type === 'directory') await walk(childAbs, childRel);
    }
  };
  await walk(dir, '');
  found.sort((a, b) => compareBytes(a.path, b.path));
  return [...entries, ...found];
}

// ---------------------------------------------------------------------------------------------------------------
// Headers

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

function octal(value: number, length: number): string {
  return value.toString(8).padStart(length - 1, '0') + '\0';
}

/** One PAX record: `<length> <key>=<value>\n`, where the length counts the whole record, itself included. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + String(bodyLength).length;
  if (String(length).length + bodyLength !== length) length = bodyLength + String(length).length;
  return `${length}${body}`;
}

/** The sum a ustar header's checksum field holds (the field itself counted as eight spaces). */
export function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** True when `block` is a ustar/v7 header with a valid checksum (the first block of any tar archive). */
export function isTarHeader(block: Buffer): boolean {
  if (block.length < TAR_BLOCK) return false;
  const text = block
    .toString('ascii', 148, 156)
    .replace(/[\0 ]+$/, '')
    .trim();
  return /^[0-7]+$/.test(text) && parseInt(text, 8) === headerChecksum(block);
}

interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  uname: string;
  gname: string;
}

function ustarBlock(f: HeaderFields): Buffer {
  const h = Buffer.alloc(TAR_BLOCK, 0);
  // Fields that do not fit (the PAX header holds their real value) are cut; `write` never overflows a field.
  h.write(f.name, 0, 100, 'utf8');
  h.write(octal(f.mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(Math.min(f.uid, MAX_OCTAL_7), 8), 108, 8, 'ascii');
  h.write(octal(Math.min(f.gid, MAX_OCTAL_7), 8), 116, 8, 'ascii');
  h.write(octal(Math.min(f.size, MAX_OCTAL_11), 12), 124, 12, 'ascii');
  h.write(octal(f.mtime, 12), 136, 12, 'ascii');
  h.write(f.typeflag, 156, 1, 'ascii');
  h.write(f.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(f.uname, 265, 32, 'utf8');
  h.write(f.gname, 297, 32, 'utf8');
  h.write(octal(0, 8), 329, 8, 'ascii');
  h.write(octal(0, 8), 337, 8, 'ascii');
  h.write(octal(headerChecksum(h), 7) + ' ', 148, 8, 'ascii');
  return h;
}

const padding = (size: number): number => (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;

/**
 * The header blocks of one entry: a PAX extended header first when a value does not fit ustar, then the ustar
 * header. Deterministic: depends only on the entry and the options.
 */
export function entryHeader(entry: TarEntry, opts: TarWriteOptions = {}): Buffer {
  const owner = { ...ROOT_OWNER, ...opts.owner };
  const mtime = opts.mtime ?? 0;
  if (!Number.isSafeInteger(mtime) || mtime < 0 || mtime > MAX_OCTAL_11) {
    throw new ConfigurationError(
      `layer mtime ${mtime} is not a number of seconds between 0 and ${MAX_OCTAL_11}`,
    );
  }
  for (const [what, id] of [
    ['uid', owner.uid],
    ['gid', owner.gid],
  ] as const) {
    if (!Number.isSafeInteger(id) || id < 0) throw new ConfigurationError(`layer ${what} ${id} is not valid`);
  }
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  const linkname = entry.linkTarget ?? '';
  const size = entry.type === 'file' ? entry.size : 0;
  const pax: Array<[string, string]> = [];
  if (Buffer.byteLength(name) > 100 || !isAscii(name)) pax.push(['path', name]);
  if (Buffer.byteLength(linkname) > 100 || !isAscii(linkname)) pax.push(['linkpath', linkname]);
  if (size > MAX_OCTAL_11) pax.push(['size', String(size)]);
  if (owner.uid > MAX_OCTAL_7) pax.push(['uid', String(owner.uid)]);
  if (owner.gid > MAX_OCTAL_7) pax.push(['gid', String(owner.gid)]);
  if (Buffer.byteLength(owner.uname) > 32 || !isAscii(owner.uname)) pax.push(['uname', owner.uname]);
  if (Buffer.byteLength(owner.gname) > 32 || !isAscii(owner.gname)) pax.push(['gname', owner.gname]);
  const typeflag = entry.type === 'file' ? '0' : entry.type === 'directory' ? '5' : '2';
  const header = ustarBlock({
    name,
    mode: entry.mode,
    uid: owner.uid,
    gid: owner.gid,
    size,
    mtime,
    typeflag,
    linkname,
    uname: owner.uname,
    gname: owner.gname,
  });
  if (pax.length === 0) return header;
  pax.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const records = Buffer.from(pax.map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
  const base = posix.basename(entry.path).replace(/[^\x20-\x7e]/g, '_');
  const paxHeader = ustarBlock({
    name: `PaxHeaders/${base}`.slice(0, 100),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: records.length,
    mtime,
    typeflag: 'x',
    linkname: '',
    uname: '',
    gname: '',
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), header]);
}

/** Reads exactly `entry.size` bytes of a regular file, failing when it is shorter or longer than planned. */
async function* fileContent(entry: TarEntry, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const fh = await open(entry.source!, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let done = 0;
    while (done < entry.size) {
      if (signal?.aborted) throw new CancelledError();
      const want = Math.min(READ_CHUNK, entry.size - done);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, done);
      if (bytesRead === 0) {
        throw new ConfigurationError(
          `'${entry.source}' shrank while the layer was written (${entry.size} bytes expected, ${done} read)`,
        );
      }
      done += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
    const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, done);
    if (bytesRead !== 0) {
      throw new ConfigurationError(
        `'${entry.source}' grew while the layer was written (${entry.size} bytes expected)`,
      );
    }
  } finally {
    await fh.close();
  }
}

async function* archive(entries: readonly TarEntry[], opts: TarWriteOptions): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    if (opts.signal?.aborted) throw new CancelledError();
    yield entryHeader(entry, opts);
    if (entry.type === 'file' && entry.size > 0) {
      yield* fileContent(entry, opts.signal);
      const pad = padding(entry.size);
      if (pad > 0) yield Buffer.alloc(pad);
    }
  }
  yield Buffer.alloc(2 * TAR_BLOCK);
}

/** The archive of `entries`, in the order given, as a stream (see the module comment). */
export function tarStream(entries: readonly TarEntry[], opts: TarWriteOptions = {}): Readable {
  return Readable.from(archive(entries, opts), { objectMode: false });
}

/** The archive of a directory: {@link planDirectory} then {@link tarStream}. */
export async function tarDirectory(
  dir: string,
  opts: TarWriteOptions & DirectoryPlanOptions = {},
): Promise<{ entries: TarEntry[]; stream: Readable }> {
  const entries = await planDirectory(dir, opts);
  return { entries, stream: tarStream(entries, opts) };
}
