/**
 * Content digests for image sources: validation of `algorithm:hex` strings, hashing of streams, and a
 * pass-through stream that checks size and digest as a blob is read and fails the stream when they differ.
 */
import type { Hash } from 'node:crypto';

// node:crypto is loaded by the first digest, not at start.
const createHash = (algorithm: string): Hash => process.getBuiltinModule('node:crypto').createHash(algorithm);
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ConfigurationError } from '../../errors.js';

/** Digest algorithms whose content can be verified here, with the length of their hex encoding. */
const ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** The parts of a digest: its algorithm and its encoded value. */
export interface ParsedDigest {
  algorithm: string;
  hex: string;
}

/**
 * Parses and validates a digest that is about to be used as a path (`blobs/<alg>/<hex>`) or verified: only
 * sha256 / sha384 / sha512 with lowercase hex of the right length. `context` says where it came from.
 */
export function parseDigest(digest: unknown, context: string): ParsedDigest {
  const m = typeof digest === 'string' ? DIGEST_RE.exec(digest) : null;
  if (!m) throw new ConfigurationError(`${context}: invalid digest ${JSON.stringify(digest)}`);
  const algorithm = m[1]!;
  const hex = m[2]!;
  const length = ALGORITHMS[algorithm];
  if (length === undefined) {
    throw new ConfigurationError(
      `${context}: unsupported digest algorithm '${algorithm}' in '${digest as string}' (supported: ${Object.keys(ALGORITHMS).join(', ')})`,
    );
  }
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new ConfigurationError(`${context}: invalid ${algorithm} digest '${digest as string}'`);
  }
  return { algorithm, hex };
}

/** `sha256:<hex>` of a buffer (or the given algorithm). */
export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Hashes a stream to its end: its digest and byte count. */
export async function digestStream(
  stream: Readable,
  algorithm = 'sha256',
): Promise<{ digest: string; size: number; head: Buffer }> {
  const hash = createHash(algorithm);
  let size = 0;
  let head = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size, head };
}

/**
 * A blob whose content does not match its digest or size: the source is corrupt (or was changed while being
 * read). `expected`/`actual` are digests; sizes are given when they differ.
 */
export class BlobDigestMismatchError extends ConfigurationError {
  override readonly name = 'BlobDigestMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly where: string,
    readonly expectedSize?: number,
    readonly actualSize?: number,
  ) {
    super(
      expectedSize !== undefined && actualSize !== undefined && expectedSize !== actualSize
        ? `digest mismatch: blob ${expected} in ${where} is corrupt: expected ${expectedSize} bytes, read ${actualSize}`
        : `digest mismatch: blob ${expected} in ${where} is corrupt: its content hashes to ${actual}`,
    );
  }
}

/**
 * A pass-through stream that hashes what goes through it and, at the end, fails with a
 * {@link BlobDigestMismatchError} unless exactly `size` bytes with digest `digest` went through. It fails as soon
 * as more than `size` bytes arrive, so a wrong blob is never read past its expected length.
 */
export class VerifyingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: string;
  private seen = 0;

  constructor(
    private readonly digest: string,
    private readonly size: number,
    private readonly where: string,
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.algorithm = parseDigest(digest, where).algorithm;
    this.hash = createHash(this.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.size) {
      callback(
        new BlobDigestMismatchError(this.digest, 'unknown (too long)', this.where, this.size, this.seen),
      );
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = `${this.algorithm}:${this.hash.digest('hex')}`;
    if (this.seen !== this.size || actual !== this.digest) {
      callback(new BlobDigestMismatchError(this.digest, actual, this.where, this.size, this.seen));
      return;
    }
    callback();
  }
}

/**
 * Pipes `source` through a {@link VerifyingStream}. Errors of the source reach the returned stream; destroying
 * the returned stream (a consumer giving up) destroys the source, so its file descriptor is closed.
 */
export function verified(source: Readable, digest: string, size: number, where: string): Readable {
  const verifier = new VerifyingStream(digest, size, where);
  source.on('error', (err) => verifier.destroy(err));
  verifier.on('close', () => source.destroy());
  source.pipe(verifier);
  return verifier;
}
