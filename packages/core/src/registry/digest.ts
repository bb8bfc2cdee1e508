/**
 * Content digests: computing them for buffers and verifying them on streams as bytes go by.
 *
 * A registry addresses content by `algorithm:hex`. Kiln verifies everything it moves: manifests against the
 * computed hash, the `Docker-Content-Digest` header and the digest that was asked for; blobs while they stream
 * from one registry into another, through {@link DigestVerifier}, which holds back the last chunk until the
 * hash is known, so a corrupted blob never reaches the destination in full (the upload is aborted instead).
 */
import type { Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError } from './errors.js';

/** Algorithms Kiln can verify, with their node:crypto names and hex lengths. */
const ALGORITHMS: Readonly<Record<string, { hash: string; hexLength: number }>> = {
  sha256: { hash: 'sha256', hexLength: 64 },
  sha384: { hash: 'sha384', hexLength: 96 },
  sha512: { hash: 'sha512', hexLength: 128 },
};

/** The algorithm of `algo:hex`, when Kiln can verify it. */
export function digestAlgorithm(digest: string): string | undefined {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  return Object.hasOwn(ALGORITHMS, algorithm) ? algorithm : undefined;
}

/** True for `sha256:<64 hex>` (and sha384/sha512 with their lengths), lower-case. */
export function isVerifiableDigest(digest: string): boolean {
  const algorithm = digestAlgorithm(digest);
  if (!algorithm) return false;
  const hex = digest.slice(algorithm.length + 1);
  return hex.length === ALGORITHMS[algorithm]!.hexLength && /^[a-f0-9]+$/.test(hex);
}

function newHash(algorithm: string): Hash {
  const a = ALGORITHMS[algorithm];
  if (!a) throw new Error(`unsupported digest algorithm '${algorithm}'`);
  // node:crypto is loaded by the first digest, not at start.
  return process.getBuiltinModule('node:crypto').createHash(a.hash);
}

/** `algorithm:hex` of `data` (sha256 by default). */
export function computeDigest(data: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${newHash(algorithm).update(data).digest('hex')}`;
}

/** `algorithm:hex` of `data`, hashed with the same algorithm as `like` (sha256 when unknown). */
export function digestLike(data: Uint8Array, like: string | undefined): string {
  return computeDigest(data, (like && digestAlgorithm(like)) || 'sha256');
}

/** Shortens a digest for log lines: `sha256:0123456789ab`. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(0, colon + 13);
}

/**
 * A pass-through stream that hashes and counts what flows through it and fails when the content does not
 * match `digest` (and `size`, when given). The last chunk is held back until the end is verified, so a
 * consumer (an upload) never receives the complete, wrong content: it gets an error before the final bytes.
 * Too many bytes fail at once, without waiting for the end.
 */
export class DigestVerifier extends Transform {
  private readonly hash: Hash;
  private pending: Buffer | undefined;
  /** Bytes seen so far. */
  bytes = 0;

  constructor(
    readonly digest: string,
    readonly size: number | undefined,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    super();
    const algorithm = digestAlgorithm(digest);
    if (!algorithm) throw new DigestMismatchError(`cannot verify digest '${digest}'`, digest, undefined);
    this.hash = newHash(algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.size !== undefined && this.bytes > this.size) {
      callback(
        new DigestMismatchError(
          `content of ${shortDigest(this.digest)} is larger than its declared size ${this.size}`,
          this.digest,
          undefined,
        ),
      );
      return;
    }
    this.hash.update(chunk);
    const previous = this.pending;
    this.pending = chunk;
    this.onBytes?.(this.bytes);
    if (previous) this.push(previous);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const algorithm = this.digest.slice(0, this.digest.indexOf(':'));
    const actual = `${algorithm}:${this.hash.digest('hex')}`;
    if (this.size !== undefined && this.bytes !== this.size) {
      callback(
        new DigestMismatchError(
          `content of ${shortDigest(this.digest)} has ${this.bytes} bytes, expected ${this.size}`,
          this.digest,
          actual,
        ),
      );
      return;
    }
    if (actual !== this.digest) {
      callback(
        new DigestMismatchError(
          `content does not match its digest: expected ${this.digest}, got ${actual}`,
          this.digest,
          actual,
        ),
      );
      return;
    }
    if (this.pending) this.push(this.pending);
    this.pending = undefined;
    callback();
  }
}
