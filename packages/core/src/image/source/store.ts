/**
 * Where an image's files live: a directory on disk or an indexed tar archive. Image sources read the same
 * relative paths (`oci-layout`, `index.json`, `manifest.json`, `blobs/sha256/<hex>`, …) through this interface,
 * so an OCI layout works the same extracted or archived.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigurationError } from '../../errors.js';
import { normaliseTarPath, readTarFile, resolveTarFile, streamTarFile, type TarIndex } from './tar.js';

/** Read access to the files of an image layout or archive. */
export interface FileStore {
  /** Shown in messages: the directory or archive path. */
  readonly location: string;
  /** Size of a regular file, or undefined when it does not exist. */
  size(path: string): Promise<number | undefined>;
  /** A small file whole, or undefined when it does not exist; larger than `limit` is an error. */
  read(path: string, limit: number): Promise<Buffer | undefined>;
  /** A stream of a file's bytes and its size, or undefined when it does not exist. */
  open(path: string): Promise<{ stream: Readable; size: number } | undefined>;
  /** True when anything (a file, a directory, a link) exists at `path`: for format detection. */
  has(path: string): Promise<boolean>;
}

/** Relative, forward-slash paths only, never leaving the root (the callers build them from validated parts). */
function checkRelative(path: string): string {
  const n = normaliseTarPath(path);
  if (n === '' || n.split('/').includes('..')) throw new Error(`internal error: bad store path '${path}'`);
  return n;
}

/** Files of a directory on disk. */
export class DirStore implements FileStore {
  constructor(readonly location: string) {}

  private path(rel: string): string {
    return join(this.location, ...checkRelative(rel).split('/'));
  }

  async size(rel: string): Promise<number | undefined> {
    try {
      const s = await stat(this.path(rel));
      if (!s.isFile()) throw new ConfigurationError(`'${this.path(rel)}' is not a regular file`);
      return s.size;
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as NodeJS.ErrnoException).code === 'ENOTDIR'
      ) {
        return undefined;
      }
      throw err;
    }
  }

  async has(rel: string): Promise<boolean> {
    try {
      await stat(this.path(rel));
      return true;
    } catch {
      return false;
    }
  }

  async read(rel: string, limit: number): Promise<Buffer | undefined> {
    const size = await this.size(rel);
    if (size === undefined) return undefined;
    if (size > limit) {
      throw new ConfigurationError(`'${this.path(rel)}' is ${size} bytes, more than the ${limit} expected`);
    }
    return readFile(this.path(rel));
  }

  async open(rel: string): Promise<{ stream: Readable; size: number } | undefined> {
    const size = await this.size(rel);
    if (size === undefined) return undefined;
    return { stream: createReadStream(this.path(rel)), size };
  }
}

/** Files of an indexed, uncompressed tar archive, streamed by offset. */
export class TarStore implements FileStore {
  readonly location: string;
  constructor(readonly index: TarIndex) {
    this.location = index.label;
  }

  async size(rel: string): Promise<number | undefined> {
    return resolveTarFile(this.index, checkRelative(rel))?.size;
  }

  async has(rel: string): Promise<boolean> {
    return this.index.entries.has(checkRelative(rel));
  }

  async read(rel: string, limit: number): Promise<Buffer | undefined> {
    const ref = resolveTarFile(this.index, checkRelative(rel));
    return ref ? readTarFile(this.index, ref, limit) : undefined;
  }

  async open(rel: string): Promise<{ stream: Readable; size: number } | undefined> {
    const ref = resolveTarFile(this.index, checkRelative(rel));
    return ref ? { stream: streamTarFile(this.index, ref), size: ref.size } : undefined;
  }
}

/** A stream of an in-memory buffer (for synthesised or already-read small blobs). */
export function bufferStream(data: Buffer): Readable {
  return Readable.from([data]);
}
