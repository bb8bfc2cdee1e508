/**
 * Layers for a bake: a directory (written with the deterministic tar writer) or an existing tarball, turned into
 * a gzip blob on disk with its two digests, in one pass over the content:
 *
 *     tar bytes ──► sha256 (diff_id, uncompressed size) ──► gzip ──► sha256 (blob digest, size) ──► file
 *
 * The gzip stream is deterministic: Node's zlib at a fixed level writes no file name and an mtime of 0; the
 * operating-system byte of the header, the one thing that depends on the machine, is set to 255 ("unknown", as
 * Go's compress/gzip writes it). The compressed bytes still depend on the zlib build (`process.versions.zlib`):
 * the same Node release gives the same blob digest; the diff_id never depends on it.
 *
 * A tarball is used as it is: a gzip tarball is the blob itself (read once for both digests, never copied); a
 * plain tar is gzipped like a directory. zstd, xz and bzip2 tarballs are refused (Docker media types have no
 * zstd layer, and Node reads none of them).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { CancelledError, ConfigurationError } from '../errors.js';
import { sniffCompression } from '../image/source/compression.js';
import { isTarHeader, planDirectory, TAR_BLOCK, tarStream, type TarOwner } from './tar.js';

/** Where a new layer comes from. */
export type LayerSource =
  | {
      /** A directory, written recursively (see tar.ts). */
      directory: string;
      /** Where its content goes in the image (`/app`). Default: the image's root. */
      destination?: string;
      /** Mode of the destination directory and its parents. Default 0o755. */
      destinationMode?: number;
      /** Owner of every entry of this layer (default: the bake's owner, root). */
      owner?: Partial<TarOwner>;
    }
  | {
      /** A tar archive (plain or gzip) used as the layer as it is. */
      tarball: string;
    };

/** A layer ready to be uploaded: a gzip blob on disk and its digests. */
export interface BuiltLayer {
  /** sha256 of the gzip blob. */
  digest: string;
  /** Bytes of the gzip blob. */
  size: number;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  uncompressedSize: number;
  /** The blob's file (a temp file Kiln wrote, or the user's gzip tarball). */
  path: string;
  /** For history and logs: `directory /src/app → /app`, `tarball /x/layer.tar.gz`. */
  description: string;
  /** Entries written (directory layers only). */
  entries?: number;
}

/** Options of {@link buildLayer}. */
export interface BuildLayerOptions {
  /** Where a blob Kiln writes goes (a file that must not exist yet). */
  outFile: string;
  /** mtime of every entry, seconds (`SOURCE_DATE_EPOCH`). Default 0. */
  mtime?: number;
  /** Owner of every entry (default root, 0:0); a directory source's own `owner` wins. */
  owner?: Partial<TarOwner>;
  /** gzip level, 1-9. Default 6 (what `gzip` and Go use). */
  gzipLevel?: number;
  signal?: AbortSignal;
}

export const DEFAULT_GZIP_LEVEL = 6;
/** The gzip header's OS byte Kiln writes: 255, "unknown" (zlib writes the build machine's). */
const GZIP_OS_UNKNOWN = 255;

/**
 * A pass-through that hashes and counts. With `tarLabel`, it also checks that the content is a tar archive: the
 * first block must be a valid header (or the end-of-archive zero block).
 */
class Digester extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private head: Buffer | undefined;
  bytes = 0;
  constructor(private readonly tarLabel?: string) {
    super();
    if (tarLabel !== undefined) this.head = Buffer.alloc(0);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.head !== undefined && this.head.length < TAR_BLOCK) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, TAR_BLOCK - this.head.length)]);
      if (this.head.length === TAR_BLOCK && !(this.head.every((b) => b === 0) || isTarHeader(this.head))) {
        cb(new ConfigurationError(`'${this.tarLabel}' is not a tar archive (its first header is not valid)`));
        return;
      }
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    if (this.head !== undefined && this.head.length < TAR_BLOCK) {
      cb(new ConfigurationError(`'${this.tarLabel}' is not a tar archive (shorter than one tar block)`));
      return;
    }
    cb();
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/** Sets the OS byte (offset 9) of the gzip header that flows through it; everything else passes unchanged. */
class GzipHeaderFixer extends Transform {
  private seen = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.seen <= 9 && this.seen + chunk.length > 9) {
      chunk = Buffer.from(chunk);
      chunk[9 - this.seen] = GZIP_OS_UNKNOWN;
    }
    this.seen += chunk.length;
    cb(null, chunk);
  }
}

function gzipLevel(level: number | undefined): number {
  const l = level ?? DEFAULT_GZIP_LEVEL;
  if (!Number.isInteger(l) || l < 1 || l > 9) throw new ConfigurationError(`gzip level ${l} is not 1-9`);
  return l;
}

/** Gzips a tar stream into `outFile`, digesting both sides; with `tarLabel`, checks it is a tar first. */
async function gzipTar(
  tar: Readable,
  outFile: string,
  opts: BuildLayerOptions,
  tarLabel?: string,
): Promise<Omit<BuiltLayer, 'description' | 'entries'>> {
  const diff = new Digester(tarLabel);
  const blob = new Digester();
  const gzip = createGzip({ level: gzipLevel(opts.gzipLevel) });
  await pipeline(tar, diff, gzip, new GzipHeaderFixer(), blob, createWriteStream(outFile, { flags: 'wx' }), {
    signal: opts.signal,
  }).catch((err: unknown) => {
    throw opts.signal?.aborted ? new CancelledError() : err;
  });
  return {
    digest: blob.digest(),
    size: blob.bytes,
    diffId: diff.digest(),
    uncompressedSize: diff.bytes,
    path: outFile,
  };
}

/** Builds the gzip blob of one layer source (see the module comment). */
export async function buildLayer(source: LayerSource, opts: BuildLayerOptions): Promise<BuiltLayer> {
  if ('directory' in source) {
    const entries = await planDirectory(source.directory, {
      destination: source.destination,
      destinationMode: source.destinationMode,
      signal: opts.signal,
    });
    const tar = tarStream(entries, {
      mtime: opts.mtime,
      owner: { ...opts.owner, ...source.owner },
      signal: opts.signal,
    });
    const built = await gzipTar(tar, opts.outFile, opts);
    const dest = source.destination ? ` → /${source.destination.replace(/^\/+/, '')}` : '';
    return { ...built, description: `directory ${source.directory}${dest}`, entries: entries.length };
  }
  return buildTarballLayer(source.tarball, opts);
}

async function buildTarballLayer(file: string, opts: BuildLayerOptions): Promise<BuiltLayer> {
  const head = Buffer.alloc(6);
  let bytesRead: number;
  try {
    const fh = await open(file, 'r');
    try {
      if (!(await fh.stat()).isFile()) throw new ConfigurationError(`layer tarball '${file}' is not a file`);
      ({ bytesRead } = await fh.read(head, 0, 6, 0));
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ConfigurationError) throw err;
    throw new ConfigurationError(`cannot read layer tarball '${file}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  const compression = sniffCompression(head.subarray(0, bytesRead));
  const description = `tarball ${file}`;
  if (compression === undefined) {
    const built = await gzipTar(createReadStream(file), opts.outFile, opts, file);
    return { ...built, description };
  }
  if (compression !== 'gzip') {
    throw new ConfigurationError(
      `layer tarball '${file}' is ${compression}-compressed; use a plain or gzip tar (or a directory)`,
    );
  }
  // The gzip file is the blob: digest it as it is, and its decompressed content for the diff_id.
  const blob = new Digester();
  const diff = new Digester(file);
  const discard = new Writable({ write: (_chunk, _enc, cb) => cb() });
  await pipeline(createReadStream(file), blob, createGunzip(), diff, discard, { signal: opts.signal }).catch(
    (err: unknown) => {
      if (opts.signal?.aborted) throw new CancelledError();
      if (err instanceof ConfigurationError) throw err;
      throw new ConfigurationError(
        `layer tarball '${file}' is not a valid gzip file: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    },
  );
  const size = (await stat(file)).size;
  if (size !== blob.bytes) throw new ConfigurationError(`layer tarball '${file}' changed while it was read`);
  return {
    digest: blob.digest(),
    size: blob.bytes,
    diffId: diff.digest(),
    uncompressedSize: diff.bytes,
    path: file,
    description,
  };
}
