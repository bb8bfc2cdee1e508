/**
 * Bake-time verification for `layer-append` (issue #11, item 3): run a command inside the freshly built image
 * before anything is pushed. buildah runs it in a working container (buildah.ts); Kiln's own builder has no
 * container runtime, so the image is unpacked from an OCI layout into a temporary root file system and the
 * command runs there under chroot — only as root (chroot needs it); otherwise verify is skipped with a reason.
 *
 * - {@link unpackRootfs}: applies an image's layers, in order, from an OCI layout to a directory.
 * - {@link verifyInRootfs}: runs a command in such a directory (chroot, a clean environment, the image's user and
 *   working directory, a deadline) and answers the builders' {@link VerifyResult}.
 * - {@link verifyLayoutImage}: both, in a temp dir that is always removed.
 * - {@link appendLayersVerified}: layer-append with a verify step: the image is baked into a temp layout only
 *   (no registry), verified, then baked again to the real target; the two digests must be equal. A failing check
 *   throws {@link VerifyFailedError} and nothing was pushed or written.
 *
 * Unpacking reads the layers with a streaming tar reader of its own (below), not the system `tar` nor the index
 * reader of image/source/tar.ts: `tar` follows the symbolic links earlier layers left in the directory (a layer
 * holding `etc -> /etc` and the next one writing `etc/x` writes the host's /etc) and knows nothing of OCI
 * whiteouts; image/source/tar.ts indexes an uncompressed file for random access and keeps neither modes, owners
 * nor times, nor the order of entries with the same name. Here:
 * - every path is resolved inside the root, component by component, with `lstat`: a symbolic link met on the way
 *   is followed as the image would see it (an absolute target from the root, `..` stopping at the root), so no
 *   write lands outside the directory; an entry whose name has a `..` component is skipped (with a warning);
 * - the entry itself is never followed: what is there is removed first (a directory is kept for a directory),
 *   files are created with `O_EXCL | O_NOFOLLOW`; symbolic links keep their target as written (absolute ones too);
 *   hard links must point at a file already unpacked;
 * - whiteouts: `.wh.<name>` removes `<name>` from the layers below; `.wh..wh..opq` empties its directory of
 *   everything the layers below put there (applied at the end of the layer, so the layer's own entries stay);
 * - modes (with setuid/setgid/sticky), owners (as root) and modification times are kept; directories get theirs
 *   at the end of each layer. Devices and FIFOs are not created (nothing is mounted either: no /proc, /dev, /sys).
 *   Extended attributes (file capabilities) are not applied.
 */
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import {
  chmod,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  type FileHandle,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { CancelledError, ConfigurationError, errorMessage } from '../errors.js';
import { displayCommand, exec } from '../exec/exec.js';
import { digestOf, parseDigest } from '../image/source/digest.js';
import { parseManifest, type ParsedManifest } from '../image/source/manifest.js';
import { MAX_METADATA_BYTES } from '../image/source/media-types.js';
import { OciImageSource, readOciLayout, selectByRefName } from '../image/source/oci.js';
import { DirStore } from '../image/source/store.js';
import { checksumOk, field, numeric, parsePax } from '../image/source/tar.js';
import type { BlobDescriptor } from '../image/source/types.js';
import type { Logger } from '../platform/types.js';
import { LogTail, VerifyFailedError, verifyResultOf, type VerifyResult } from './builder.js';
import { appendLayers, type AppendLayersOptions, type AppendResult } from './layer-append.js';
import { OciLayoutWriter } from './oci-layout.js';

// ---------------------------------------------------------------------------------------------------------------
// Shapes

/** Why verify did not run (not root). */
export interface VerifySkipped {
  skipped: true;
  reason: string;
}

/** {@link VerifyResult} (builder.ts) when the command ran, else why it was skipped. */
export type VerifyOutcome = (VerifyResult & { skipped: false }) | VerifySkipped;

export const VERIFY_NEEDS_ROOT = 'verify needs root for chroot (or use builder: buildah)';

/** The command to run in the image, and what to override of the image's own settings. */
export interface VerifyCommand {
  /** The program and its arguments (no shell unless the program is one). */
  argv: string[];
  /** Stop it (SIGTERM to its whole process group, SIGKILL 5 s later) after this long. */
  timeoutMs?: number;
  /** Default: the image config's `User` (root when empty): `name`, `uid`, `name:group`, `uid:gid`. */
  user?: string;
  /** Default: the image config's `WorkingDir` (`/` when empty); created when missing, as a runtime does. */
  workdir?: string;
  /** Set on top of the image config's `Env`. */
  env?: Record<string, string>;
}

/** Which image of an OCI layout: a ref name (`latest`), a digest (`sha256:…` or `@sha256:…`), or these fields. */
export type LayoutImage = string | { ref?: string; digest?: string; platform?: string };

/** What {@link unpackRootfs} unpacked. */
export interface UnpackedImage {
  /** The image manifest whose layers were applied (a platform's, for an index). */
  manifestDigest: string;
  /** `os/arch[/variant]` of its config. */
  platform: string;
  /** The settings of the config that running it needs. */
  config: { env: string[]; workdir?: string; user?: string };
  layers: number;
  /** Tar entries read (whiteouts included). */
  entries: number;
  /** Entries not unpacked, and why (`../x: a '..' component`, devices and FIFOs). */
  skipped: string[];
}

export interface UnpackOptions {
  signal?: AbortSignal;
  log: Logger;
}

// ---------------------------------------------------------------------------------------------------------------
// Platforms

/** This machine's platform in OCI terms (`linux/amd64`, `linux/arm64`). */
export function hostPlatform(): { os: string; architecture: string } {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le', arm64: 'arm64' };
  return { os: 'linux', architecture: arch[process.arch] ?? process.arch };
}

const platformText = (p: { os: string; architecture: string; variant?: string } | undefined): string =>
  p ? `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}` : 'unknown platform';

function platformMatches(
  filter: string,
  p: { os: string; architecture: string; variant?: string } | undefined,
): boolean {
  if (!p) return false;
  const [os, arch, variant] = filter.split('/');
  return p.os === os && p.architecture === arch && (variant === undefined || p.variant === variant);
}

const isAttestation = (d: BlobDescriptor): boolean =>
  d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
  (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');

// ---------------------------------------------------------------------------------------------------------------
// Reading the image from the layout

async function readAll(stream: NodeJS.ReadableStream, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ConfigurationError(`${what} is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface LayoutImageParts {
  source: OciImageSource;
  manifestDigest: string;
  layers: BlobDescriptor[];
  config: Record<string, unknown>;
}

/** Opens the image `which` names in the layout `dir` (see {@link LayoutImage}); the source must be closed. */
async function openLayoutImage(dir: string, which: LayoutImage, log: Logger): Promise<LayoutImageParts> {
  const sel = typeof which === 'string' ? selectorOf(which) : which;
  const store = new DirStore(dir);
  const where = `OCI layout ${dir}`;
  const layout = await readOciLayout(store, where);
  let root: BlobDescriptor;
  if (sel.digest !== undefined) {
    const digest = sel.digest.replace(/^@/, '');
    parseDigest(digest, where);
    const listed = layout.manifests.find((d) => d.digest === digest);
    if (listed) root = listed;
    else {
      // A manifest of the layout that index.json does not name (a platform's manifest of an index).
      const { algorithm, hex } = parseDigest(digest, where);
      const bytes = await store.read(`blobs/${algorithm}/${hex}`, MAX_METADATA_BYTES);
      if (bytes === undefined) throw new ConfigurationError(`${where} has no manifest ${digest}`);
      if (digestOf(bytes, algorithm) !== digest)
        throw new ConfigurationError(`${where}: blob ${digest} does not match its digest`);
      const parsed = parseManifest(bytes, undefined, `manifest ${digest} in ${where}`);
      root = { mediaType: parsed.mediaType, digest, size: bytes.length };
    }
  } else {
    root = selectByRefName(layout, sel.ref, where);
  }
  const label = `${where}${sel.ref !== undefined ? `:${sel.ref}` : ''}`;
  const source = new OciImageSource('oci-layout', store, root, label, log);
  try {
    let digest = root.digest;
    let doc = await source.manifest(digest);
    let parsed: ParsedManifest = parseManifest(doc.bytes, doc.mediaType, `manifest ${digest} in ${label}`);
    if (parsed.kind === 'index') {
      const want = sel.platform ?? platformText(hostPlatform());
      const images = parsed.manifests.filter((d) => !isAttestation(d));
      const entry = images.find((d) => platformMatches(want, d.platform));
      if (!entry) {
        throw new ConfigurationError(
          `${label} has no ${want} image (it has ${images.map((d) => platformText(d.platform)).join(', ') || 'none'})`,
        );
      }
      digest = entry.digest;
      doc = await source.manifest(digest);
      parsed = parseManifest(doc.bytes, doc.mediaType, `manifest ${digest} in ${label}`);
      if (parsed.kind !== 'manifest')
        throw new ConfigurationError(`${label}: ${digest} (${want}) is not an image manifest`);
    }
    const manifest = parsed as Extract<ParsedManifest, { kind: 'manifest' }>;
    if (manifest.config.size > MAX_METADATA_BYTES)
      throw new ConfigurationError(`${label}: the config of ${digest} is ${manifest.config.size} bytes`);
    const { stream } = await source.openBlob(manifest.config.digest);
    const configBytes = await readAll(stream, MAX_METADATA_BYTES, `the config of ${digest}`);
    let config: unknown;
    try {
      config = JSON.parse(configBytes.toString('utf8'));
    } catch (err) {
      throw new ConfigurationError(`${label}: the config of ${digest} is not JSON: ${errorMessage(err)}`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw new ConfigurationError(`${label}: the config of ${digest} is not a JSON object`);
    const c = config as Record<string, unknown>;
    if (sel.platform !== undefined && parsed.kind === 'manifest' && root.digest === digest) {
      const p = configPlatformOf(c);
      if (!platformMatches(sel.platform, p))
        throw new ConfigurationError(`${label} is a ${platformText(p)} image, not ${sel.platform}`);
    }
    return { source, manifestDigest: digest, layers: manifest.layers, config: c };
  } catch (err) {
    await source.close();
    throw err;
  }
}

function selectorOf(s: string): { ref?: string; digest?: string; platform?: string } {
  return /^@?[a-z0-9]+:[a-f0-9]{32,}$/.test(s) ? { digest: s } : { ref: s };
}

function configPlatformOf(c: Record<string, unknown>) {
  return typeof c.os === 'string' && typeof c.architecture === 'string'
    ? {
        os: c.os,
        architecture: c.architecture,
        ...(typeof c.variant === 'string' ? { variant: c.variant } : {}),
      }
    : undefined;
}

function runSettingsOf(c: Record<string, unknown>): UnpackedImage['config'] {
  const inner = (typeof c.config === 'object' && c.config !== null ? c.config : {}) as Record<
    string,
    unknown
  >;
  const env = Array.isArray(inner.Env) ? inner.Env.filter((e): e is string => typeof e === 'string') : [];
  return {
    env,
    ...(typeof inner.WorkingDir === 'string' && inner.WorkingDir !== '' ? { workdir: inner.WorkingDir } : {}),
    ...(typeof inner.User === 'string' && inner.User !== '' ? { user: inner.User } : {}),
  };
}

function layerCompression(mediaType: string, digest: string): 'gzip' | 'none' {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('+tar')) return 'none';
  if (mediaType.endsWith('+zstd'))
    throw new ConfigurationError(`layer ${digest} is zstd-compressed, which Kiln cannot unpack to verify`);
  throw new ConfigurationError(`layer ${digest} has media type '${mediaType}', which Kiln cannot unpack`);
}

// ---------------------------------------------------------------------------------------------------------------
// A streaming tar reader

const BLOCK = 512;
const MAX_META_RECORD = 1024 * 1024;
const MAX_LINK_HOPS = 40;
const EMPTY = Buffer.alloc(0);

/** Pulls exact byte counts out of an async iterable of chunks. */
class ByteReader {
  private buf: Buffer = EMPTY;
  private ended = false;
  /** Bytes handed out (read, pieces, skipped). */
  position = 0;
  constructor(private readonly it: AsyncIterator<Buffer | string>) {}

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.it.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  /** `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n && (await this.more()));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** `n` bytes, piece by piece as they arrive; a short stream is an error. */
  async *pieces(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more()))
        throw new ConfigurationError(`${what}: the tar archive is truncated`);
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(piece.length);
      this.position += piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number, what: string): Promise<void> {
    for await (const piece of this.pieces(n, what)) void piece;
  }

  /** Reads what is left (so a digest-verifying source sees its end). */
  async drain(): Promise<void> {
    this.buf = EMPTY;
    while (await this.more()) this.buf = EMPTY;
  }
}

interface TarHeader {
  name: string;
  /** `0` file, `1` hard link, `2` symlink, `3`/`4` devices, `5` directory, `6` FIFO, others. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
  linkName: string;
}

const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** Calls `onEntry` for every entry of a tar stream, in order; what it leaves of the entry's data is skipped. */
async function readTar(
  source: AsyncIterable<Buffer | string>,
  what: string,
  onEntry: (h: TarHeader, data: ByteReader, dataSize: number) => Promise<void>,
): Promise<void> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await r.read(BLOCK);
    if (block.length === 0) break; // no end-of-archive blocks: tolerated, as tar does
    if (block.length < BLOCK) throw new ConfigurationError(`${what}: the tar archive is truncated`);
    if (block.every((b) => b === 0)) break;
    if (!checksumOk(block)) throw new ConfigurationError(`${what}: corrupt tar header (bad checksum)`);
    const type = String.fromCharCode(block[156]!);
    let size = numeric(block, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) throw new ConfigurationError(`${what}: invalid tar size`);
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_META_RECORD) throw new ConfigurationError(`${what}: a tar meta record of ${size} bytes`);
      const data = await r.read(size);
      if (data.length < size) throw new ConfigurationError(`${what}: the tar archive is truncated`);
      if (type === 'x') pax = parsePax(data, what);
      else if (type === 'L') longName = field(data, 0, data.length);
      else if (type === 'K') longLink = field(data, 0, data.length);
      await r.skip(padding(size), what);
      continue;
    }
    let name = field(block, 0, 100);
    if (block.toString('ascii', 257, 263) === 'ustar\0') {
      const prefix = field(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const h: TarHeader = {
      name: longName ?? name,
      type: type === '\0' || type === '7' ? '0' : type,
      mode: numeric(block, 100, 8) & 0o7777,
      uid: numeric(block, 108, 8),
      gid: numeric(block, 116, 8),
      mtime: numeric(block, 136, 12),
      size,
      linkName: longLink ?? field(block, 157, 100),
    };
    if (pax) {
      const num = (key: string): number | undefined => {
        const v = pax!.get(key);
        return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
      };
      h.name = pax.get('path') ?? h.name;
      h.linkName = pax.get('linkpath') ?? h.linkName;
      h.uid = num('uid') ?? h.uid;
      h.gid = num('gid') ?? h.gid;
      h.mtime = num('mtime') ?? h.mtime;
      const s = pax.get('size');
      if (s !== undefined) {
        size = /^\d+$/.test(s) ? Number(s) : NaN;
        if (!Number.isSafeInteger(size)) throw new ConfigurationError(`${what}: invalid pax size '${s}'`);
        h.size = size;
      }
    }
    pax = longName = longLink = undefined;
    if (![h.mode, h.uid, h.gid, h.mtime].every(Number.isFinite))
      throw new ConfigurationError(
        `${what}: '${h.name}' has an invalid mode, owner or time in its tar header`,
      );
    if (h.type === '0' && h.name.endsWith('/')) h.type = '5'; // the old V7 way of writing a directory
    // Links, directories, devices and FIFOs carry no data whatever their size field says.
    const dataSize = '123456'.includes(h.type) ? 0 : size;
    const start = r.position;
    await onEntry(h, r, dataSize);
    await r.skip(dataSize - (r.position - start) + padding(dataSize), what);
  }
  await r.drain();
}

// ---------------------------------------------------------------------------------------------------------------
// Unpacking

/** An entry that is not unpacked (reported, the unpacking goes on). */
class SkipEntry extends Error {}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** `a/./b//c` → [a, b, c]; undefined when a component is `..` (the entry would leave the root). */
function entryParts(name: string): string[] | undefined {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  return parts.includes('..') ? undefined : parts;
}

/**
 * Resolves `parts` inside `root` the way the image sees its own file system: symbolic links are followed, an
 * absolute target from the root, `..` never above the root. Answers the real path (components under `root`,
 * without links), or undefined when something is missing and `create` is off. With `create`, missing
 * directories are made (0755, owned by whoever runs Kiln). Every component but (with `fileAtEnd`) the last must
 * be a directory.
 */
async function resolveInRoot(
  root: string,
  parts: readonly string[],
  opts: { create?: boolean; fileAtEnd?: boolean } = {},
): Promise<string[] | undefined> {
  const resolved: string[] = [];
  const queue = [...parts];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    const st = await lstatOrUndefined(host);
    if (!st) {
      if (!opts.create) return undefined;
      await mkdir(host, 0o755);
      resolved.push(part);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) throw new SkipEntry(`too many levels of symbolic links`);
      const target = await readlink(host);
      if (target.startsWith('/')) resolved.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory() && !(opts.fileAtEnd && queue.length === 0))
      throw new SkipEntry(`'/${[...resolved, part].join('/')}' is not a directory`);
    resolved.push(part);
  }
  return resolved;
}

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
}

interface LayerState {
  root: string;
  isRoot: boolean;
  /** Real paths (relative, `/`-joined) this layer wrote, and their parents. */
  written: Set<string>;
  /** Directories whose lower content this layer hides (`.wh..wh..opq`), by real path. */
  opaque: string[];
  /** Directories to give their mode, owner and time at the end of the layer. */
  dirs: Map<string, TarHeader>;
  skipped: string[];
  entries: number;
}

function markWritten(state: LayerState, real: readonly string[]): void {
  for (let i = 1; i <= real.length; i++) state.written.add(real.slice(0, i).join('/'));
}

/** Unpacks one entry (see the module comment); consumes its data. */
async function unpackEntry(
  state: LayerState,
  h: TarHeader,
  data: ByteReader,
  dataSize: number,
  what: string,
) {
  state.entries++;
  const { root } = state;
  const parts = entryParts(h.name);
  if (parts === undefined) throw new SkipEntry(`its name has a '..' component`);
  if (parts.length === 0) {
    if (h.type === '5') state.dirs.set('', h); // the root itself ('./')
    return;
  }
  const base = parts.at(-1)!;
  if (base.startsWith('.wh.')) {
    const parent = await resolveInRoot(root, parts.slice(0, -1));
    if (parent === undefined) return; // nothing below to hide
    if (base === '.wh..wh..opq') state.opaque.push(parent.join('/'));
    else if (!base.startsWith('.wh..wh.')) {
      const victim = [...parent, base.slice('.wh.'.length)].join('/');
      if (!state.written.has(victim)) await rm(join(root, victim), { recursive: true, force: true });
    }
    return;
  }
  if ('346'.includes(h.type)) throw new SkipEntry('devices and FIFOs are not created');
  if (!'0125'.includes(h.type)) throw new SkipEntry(`an entry of type '${h.type}' is not supported`);

  const parent = await resolveInRoot(root, parts.slice(0, -1), { create: true });
  const real = [...parent!, base];
  const rel = real.join('/');
  const host = join(root, ...real);
  let linkTarget: string | undefined;
  if (h.type === '1') {
    const target = entryParts(h.linkName);
    if (target === undefined || target.length === 0) throw new SkipEntry(`a hard link to '${h.linkName}'`);
    const dir = await resolveInRoot(root, target.slice(0, -1));
    linkTarget = dir && join(root, ...dir, target.at(-1)!);
    const st = linkTarget ? await lstatOrUndefined(linkTarget) : undefined;
    if (!st || st.isDirectory())
      throw new SkipEntry(`a hard link to '${h.linkName}', which is ${st ? 'a directory' : 'missing'}`);
    if (linkTarget === host) return;
  }
  markWritten(state, real);
  const existing = await lstatOrUndefined(host);
  const keepDir = existing?.isDirectory() === true && h.type === '5';
  if (existing && !keepDir) await rm(host, { recursive: true, force: true });
  switch (h.type) {
    case '0': {
      const fh = await open(
        host,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        for await (const piece of data.pieces(dataSize, what)) await writeAll(fh, piece);
        if (state.isRoot) await fh.chown(h.uid, h.gid);
        await fh.chmod(h.mode); // after chown, which clears setuid/setgid
        await fh.utimes(h.mtime, h.mtime);
      } finally {
        await fh.close();
      }
      return;
    }
    case '1':
      await link(linkTarget!, host);
      return;
    case '2':
      await symlink(h.linkName, host);
      if (state.isRoot) await lchown(host, h.uid, h.gid);
      await lutimes(host, h.mtime, h.mtime);
      return;
    case '5':
      if (!keepDir) await mkdir(host, 0o700);
      state.dirs.set(rel, h);
      return;
  }
}

/** Removes from an opaque directory everything this layer did not write. */
async function applyOpaque(state: LayerState, dir: string): Promise<void> {
  for (const name of await readdir(join(state.root, dir))) {
    const rel = dir === '' ? name : `${dir}/${name}`;
    const host = join(state.root, rel);
    if (!state.written.has(rel)) await rm(host, { recursive: true, force: true });
    else if ((await lstat(host)).isDirectory()) await applyOpaque(state, rel);
  }
}

async function finishLayer(state: LayerState): Promise<void> {
  for (const dir of state.opaque) {
    if ((await lstatOrUndefined(join(state.root, dir)))?.isDirectory()) await applyOpaque(state, dir);
  }
  // Deepest first, so a directory's time is not changed by setting its children's.
  const dirs = [...state.dirs].sort(([a], [b]) => b.split('/').length - a.split('/').length);
  for (const [rel, h] of dirs) {
    const host = join(state.root, rel);
    const st = await lstatOrUndefined(host);
    if (!st?.isDirectory()) continue; // replaced later in the same layer
    if (state.isRoot) await lchown(host, h.uid, h.gid);
    // Not as root, a directory stays writable by its owner: later layers and the clean-up must get in.
    await chmod(host, state.isRoot ? h.mode : h.mode | 0o700);
    await lutimes(host, h.mtime, h.mtime);
  }
}

/**
 * Applies the layers of an image in an OCI layout, in order, to `destDir` (created; it must be empty), and
 * answers what was unpacked and the run settings of its config. `image` names the image (see
 * {@link LayoutImage}); for an index, the platform given or this machine's. See the module comment for what is
 * kept, what is skipped and why nothing can be written outside `destDir`.
 */
export async function unpackRootfs(
  layoutDir: string,
  image: LayoutImage,
  destDir: string,
  opts: UnpackOptions,
): Promise<UnpackedImage> {
  const { log, signal } = opts;
  await mkdir(destDir, { recursive: true });
  if ((await readdir(destDir)).length > 0)
    throw new ConfigurationError(`cannot unpack an image into '${destDir}': it is not empty`);
  await chmod(destDir, 0o755);
  const img = await openLayoutImage(layoutDir, image, log);
  const isRoot = process.getuid?.() === 0;
  const skipped: string[] = [];
  let entries = 0;
  try {
    for (const [i, layer] of img.layers.entries()) {
      if (signal?.aborted) throw new CancelledError();
      const what = `layer ${i + 1}/${img.layers.length} (${layer.digest})`;
      const gzip = layerCompression(layer.mediaType, layer.digest) === 'gzip';
      const state: LayerState = {
        root: destDir,
        isRoot,
        written: new Set(),
        opaque: [],
        dirs: new Map(),
        skipped,
        entries: 0,
      };
      const apply = async (source: AsyncIterable<Buffer | string>) =>
        readTar(source, what, async (h, data, dataSize) => {
          try {
            await unpackEntry(state, h, data, dataSize, what);
          } catch (err) {
            if (!(err instanceof SkipEntry)) throw err;
            skipped.push(`${h.name}: ${err.message}`);
            if (skipped.length <= 10) log.warning(`${what}: '${h.name}' not unpacked: ${err.message}`);
          }
        });
      const { stream } = await img.source.openBlob(layer.digest);
      try {
        if (gzip) await pipeline(stream, createGunzip(), apply, { signal });
        else await pipeline(stream, apply, { signal });
      } catch (err) {
        if (signal?.aborted) throw new CancelledError();
        if (err instanceof ConfigurationError) throw err;
        throw new ConfigurationError(`${what} cannot be unpacked: ${errorMessage(err)}`, { cause: err });
      }
      await finishLayer(state);
      entries += state.entries;
    }
  } finally {
    await img.source.close();
  }
  if (skipped.length > 10) log.warning(`… and ${skipped.length - 10} more entries not unpacked`);
  const platform = platformText(configPlatformOf(img.config));
  log.info(
    `unpacked ${img.manifestDigest} (${platform}; ${img.layers.length} layers, ${entries} entries${skipped.length ? `, ${skipped.length} skipped` : ''}) into ${destDir}`,
  );
  return {
    manifestDigest: img.manifestDigest,
    platform,
    config: runSettingsOf(img.config),
    layers: img.layers.length,
    entries,
    skipped,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Running the command

/** Docker's PATH for an image whose Env has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KILL_AFTER_S = 5;

/** Options of {@link verifyInRootfs}. */
export interface RootfsVerifyOptions {
  argv: string[];
  /** The image config's `Env` (`NAME=value`); PATH defaults to Docker's, HOME to the user's home. */
  env?: string[];
  /** Where the command starts (default `/`); created when missing. */
  workdir?: string;
  /** `name`, `uid`, `name:group` or `uid:gid`, looked up in the root's /etc/passwd and /etc/group; default root. */
  user?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  log: Logger;
}

/** A user as the runtime switches to it. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: the primary one and those of /etc/group that list the user. */
  groups: number[];
  home: string;
}

/** A file of the root, read through {@link resolveInRoot} (undefined when missing). */
async function readRootFile(root: string, path: string): Promise<string | undefined> {
  let real: string[] | undefined;
  try {
    real = await resolveInRoot(root, path.split('/'), { fileAtEnd: true });
  } catch (err) {
    if (err instanceof SkipEntry) return undefined;
    throw err;
  }
  if (!real) return undefined;
  const host = join(root, ...real);
  if (!(await lstat(host)).isFile()) return undefined;
  return readFile(host, 'utf8');
}

const dbLines = (text: string | undefined): string[][] =>
  (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));

const NUMBER = /^\d+$/;

/**
 * Resolves a config `User` the way container runtimes do (runc, via moby/sys/user): a name must be in
 * /etc/passwd; a uid need not be (then gid 0 and home `/`); a group, by name or gid, replaces the primary group;
 * supplementary groups come from /etc/group.
 */
export async function resolveUser(root: string, spec: string | undefined): Promise<ResolvedUser> {
  const [userPart = '', groupPart] = (spec ?? '').split(':', 2);
  const user = userPart === '' ? '0' : userPart;
  const passwd = dbLines(await readRootFile(root, 'etc/passwd'));
  const entry = passwd.find((f) => (NUMBER.test(user) ? f[2] === user : f[0] === user));
  if (!entry && !NUMBER.test(user))
    throw new ConfigurationError(`verify: user '${user}' is not in the image's /etc/passwd`);
  const uid = Number(entry?.[2] ?? user);
  let gid = entry && NUMBER.test(entry[3] ?? '') ? Number(entry[3]) : 0;
  const groups = dbLines(await readRootFile(root, 'etc/group'));
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMBER.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((f) => f[0] === groupPart);
      if (!g || !NUMBER.test(g[2] ?? ''))
        throw new ConfigurationError(`verify: group '${groupPart}' is not in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid))
    throw new ConfigurationError(`verify: user '${spec}' has no usable uid/gid`);
  const extra = entry
    ? groups
        .filter((f) => (f[3] ?? '').split(',').includes(entry[0]!) && NUMBER.test(f[2] ?? ''))
        .map((f) => Number(f[2]))
    : [];
  return {
    uid,
    gid,
    groups: [...new Set([gid, ...extra])],
    home: entry?.[5] || (uid === 0 && !entry ? '/root' : '/'),
  };
}

/** A host program by its usual places, then PATH. */
function hostProgram(name: string): string {
  const dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(delimiter)];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      // Sync: a handful of stat calls, once per verify.
      accessSync(path, constants.X_OK);
      if (statSync(path).isFile()) return path;
    } catch {
      // not here
    }
  }
  throw new ConfigurationError(
    `verify needs '${name}' (coreutils / util-linux), which is not installed here`,
  );
}

function envObject(env: readonly string[], home: string): NodeJS.ProcessEnv {
  const out: Record<string, string> = {};
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  out.PATH ??= DEFAULT_PATH;
  out.HOME ??= home;
  return out;
}

/**
 * Runs `argv` in the root file system `rootfs` and answers the builders' {@link VerifyResult}, or
 * `{ skipped: true, reason }` when this process is not root (chroot needs it).
 *
 * The command runs with chroot(8) (coreutils; `--userspec`/`--groups` for the user, numeric, resolved from the
 * root's own /etc/passwd and /etc/group) — or, for a working directory other than `/`, which chroot(8) cannot
 * start in, with `unshare --root --wd` (util-linux; the same chroot(2), no namespaces; `--setuid`/`--setgid`,
 * supplementary groups dropped). Nothing is mounted. The environment is the image's (`env`) and nothing of
 * Kiln's; note that the host's `timeout` and `chroot` start with it too, so loader variables such as LD_PRELOAD
 * in the image's Env reach them as well.
 *
 * It runs under coreutils `timeout` (its own process group): at `timeoutMs`, or when `signal` aborts, the whole
 * group gets SIGTERM, and SIGKILL 5 s later, so a shell's children go too. Its output (stdout and stderr, line
 * by line) goes to the log; the last 20 lines are in `outputTail`.
 */
export async function verifyInRootfs(rootfs: string, opts: RootfsVerifyOptions): Promise<VerifyOutcome> {
  if (opts.argv.length === 0)
    throw new ConfigurationError('verify needs a command (an argument list), got none');
  if (process.getuid?.() !== 0) return { skipped: true, reason: VERIFY_NEEDS_ROOT };
  return verifyAsRoot(rootfs, opts);
}

async function verifyAsRoot(
  rootfs: string,
  opts: RootfsVerifyOptions,
): Promise<VerifyResult & { skipped: false }> {
  const { argv, log } = opts;
  const rootStat = await stat(rootfs).catch(() => undefined);
  if (!rootStat?.isDirectory()) throw new ConfigurationError(`verify: '${rootfs}' is not a directory`);
  const user = await resolveUser(rootfs, opts.user);
  const workdirParts = (opts.workdir ?? '/').split('/').filter((p) => p !== '' && p !== '.');
  let runner: { command: string; args: string[] };
  if (workdirParts.length === 0) {
    runner = {
      command: hostProgram('chroot'),
      args: [`--userspec=${user.uid}:${user.gid}`, `--groups=${user.groups.join(',')}`, rootfs, ...argv],
    };
  } else {
    // As a runtime does, a missing working directory is made (inside the root, never through a link out of it).
    try {
      await resolveInRoot(rootfs, workdirParts, { create: true });
    } catch (err) {
      if (!(err instanceof SkipEntry)) throw err;
      throw new ConfigurationError(`verify: working directory '${opts.workdir}': ${err.message}`);
    }
    runner = {
      command: hostProgram('unshare'),
      args: [
        `--root=${rootfs}`,
        `--wd=/${workdirParts.join('/')}`,
        `--setgid=${user.gid}`,
        `--setuid=${user.uid}`,
        '--',
        ...argv,
      ],
    };
  }
  const env = envObject(opts.env ?? [], user.home);
  const tail = new LogTail(20);
  return log.group(`verify: ${displayCommand(argv[0]!, argv.slice(1))}`, async () => {
    log.debug(
      `verify runs ${runner.command} as ${user.uid}:${user.gid} in ${rootfs}${workdirParts.length ? ` (working directory /${workdirParts.join('/')})` : ''}`,
    );
    const r = await verifyResultOf(tail, () =>
      exec(hostProgram('timeout'), [`--kill-after=${KILL_AFTER_S}s`, '0', runner.command, ...runner.args], {
        cwd: '/',
        env,
        signal: opts.signal,
        timeoutMs: opts.timeoutMs,
        // Longer than timeout's own --kill-after: it is timeout that kills the group.
        killGraceMs: (KILL_AFTER_S + 10) * 1000,
        logger: tail.logger(log),
        maxCapture: 256 * 1024,
        allowFailure: true,
      }),
    );
    return { skipped: false as const, ...r };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Layout image → verify

/** Removes a temp tree, also one with read-only directories (an unpack not as root). */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch {
    // below: make every directory writable, then again
  }
  const unlock = async (d: string): Promise<void> => {
    await chmod(d, 0o700).catch(() => undefined);
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await unlock(join(d, e.name));
    }
  };
  await unlock(dir);
  await rm(dir, { recursive: true, force: true });
}

export interface LayoutVerifyOptions {
  log: Logger;
  signal?: AbortSignal;
  /** Where the temp root file system goes (default: the OS temp dir; it must allow running programs). */
  workDir?: string;
}

/**
 * Unpacks `image` of the OCI layout `layoutDir` into a temp dir, runs `verify` there ({@link verifyInRootfs},
 * with the image's Env, WorkingDir and User unless `verify` overrides them) and always removes the temp dir. Not
 * as root it unpacks nothing and answers skipped (said in the log). An image for another platform than this
 * machine's is refused: it could not run here.
 */
export async function verifyLayoutImage(
  layoutDir: string,
  image: LayoutImage,
  verify: VerifyCommand,
  opts: LayoutVerifyOptions,
): Promise<VerifyOutcome> {
  const { log } = opts;
  if (verify.argv.length === 0)
    throw new ConfigurationError('verify needs a command (an argument list), got none');
  if (process.getuid?.() !== 0) {
    log.warning(`verify skipped: ${VERIFY_NEEDS_ROOT}`);
    return { skipped: true, reason: VERIFY_NEEDS_ROOT };
  }
  const temp = await mkdtemp(join(opts.workDir ?? tmpdir(), 'kiln-verify-'));
  try {
    const rootfs = join(temp, 'rootfs');
    const unpacked = await unpackRootfs(layoutDir, image, rootfs, { log, signal: opts.signal });
    const host = platformText(hostPlatform());
    if (!platformMatches(host, configPlatformOfText(unpacked.platform)))
      throw new ConfigurationError(`verify cannot run a ${unpacked.platform} image on this ${host} machine`);
    const env = [...unpacked.config.env, ...Object.entries(verify.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    // Later entries win in envObject: the overrides come last.
    return await verifyInRootfs(rootfs, {
      argv: verify.argv,
      env,
      workdir: verify.workdir ?? unpacked.config.workdir,
      user: verify.user ?? unpacked.config.user,
      timeoutMs: verify.timeoutMs,
      signal: opts.signal,
      log,
    });
  } finally {
    await removeTree(temp);
  }
}

function configPlatformOfText(p: string) {
  const [os = '', architecture = '', variant] = p.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// layer-append, verified

/** {@link appendLayers}' result, and the verify step's. */
export interface VerifiedAppendResult extends AppendResult {
  verify: VerifyOutcome;
}

/**
 * layer-append with a verify step before anything is pushed or written:
 * 1. the image is baked into a temp OCI layout only — no registry target, no tags, the base pinned by digest and
 *    `created: now` fixed to one time, so that step 3 bakes the same bytes (the base's layers are downloaded: the
 *    layout must be complete to be unpacked);
 * 2. this machine's platform of it is unpacked and `verify` runs in it ({@link verifyLayoutImage});
 * 3. when it passes, the image is baked again to the real target and/or the caller's layout (whose missing blobs
 *    are first copied from the temp layout, so the base is not downloaded twice), and its digest must be the
 *    one verified — else a {@link BakeError} says so (a layer source changed between the two bakes).
 * A failing (or timed-out) verify throws {@link VerifyFailedError}: nothing was pushed or written. Not as root,
 * verify is skipped with a warning and the bake goes on unverified (`verify.skipped`). The temp dirs are always
 * removed.
 */
export async function appendLayersVerified(
  opts: AppendLayersOptions,
  verify: VerifyCommand,
): Promise<VerifiedAppendResult> {
  const log = opts.log ?? opts.client.logger;
  if (verify.argv.length === 0)
    throw new ConfigurationError('verify needs a command (an argument list), got none');
  if (process.getuid?.() !== 0) {
    log.warning(`verify skipped: ${VERIFY_NEEDS_ROOT}; baking without it`);
    return { ...(await appendLayers(opts)), verify: { skipped: true, reason: VERIFY_NEEDS_ROOT } };
  }
  const config =
    opts.config?.created === 'now' ? { ...opts.config, created: new Date().toISOString() } : opts.config;
  const temp = await mkdtemp(join(opts.workDir ?? tmpdir(), 'kiln-verify-'));
  try {
    const layoutDir = join(temp, 'layout');
    const tag = 'kiln-verify';
    log.info('verify: baking the image into a temp OCI layout first (nothing is pushed until it passes)');
    const local = await appendLayers({
      ...opts,
      ...(config ? { config } : {}),
      target: undefined,
      tags: undefined,
      ociLayout: { dir: layoutDir, tag },
      log,
    });
    const outcome = await verifyLayoutImage(layoutDir, tag, verify, {
      log,
      signal: opts.signal,
      workDir: temp,
    });
    if (!outcome.skipped && !outcome.passed) throw new VerifyFailedError(outcome);
    log.info(`verify passed in ${local.digest}; baking it to its destination`);

    if (opts.ociLayout !== undefined) {
      const dir = typeof opts.ociLayout === 'string' ? opts.ociLayout : opts.ociLayout.dir;
      const copied = await seedLayout(layoutDir, dir, opts.signal);
      if (copied > 0) log.debug(`OCI layout ${dir}: ${copied} blobs copied from the verified layout`);
    }
    const pinned = { ...opts.base, digest: local.base.digest };
    // The same inputs must give the verified digest: checked before anything is written (a layer source that
    // changed in between is refused, not pushed unverified).
    const result = await appendLayers({
      ...opts,
      ...(config ? { config } : {}),
      base: pinned,
      expectDigest: local.digest,
      log,
    });
    return { ...result, verify: outcome };
  } finally {
    await removeTree(temp);
  }
}

/** Copies the blobs of layout `from` that layout `to` lacks (verified on the way); answers how many. */
async function seedLayout(from: string, to: string, signal?: AbortSignal): Promise<number> {
  const writer = await OciLayoutWriter.open(to);
  const dir = join(from, 'blobs', 'sha256');
  let copied = 0;
  for (const hex of await readdir(dir)) {
    if (!/^[a-f0-9]{64}$/.test(hex)) continue;
    const file = join(dir, hex);
    const blob = { digest: `sha256:${hex}`, size: (await stat(file)).size };
    if (await writer.writeBlob(blob, { file }, signal)) copied++;
  }
  return copied;
}
