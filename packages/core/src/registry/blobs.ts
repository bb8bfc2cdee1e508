/**
 * Blobs: existence, download, cross-repository mount, and upload (monolithic or chunked), streamed and
 * verified.
 *
 * - Exists: `HEAD /v2/<name>/blobs/<digest>` → 200 (+ Content-Length) or 404.
 * - Mount: `POST /v2/<dst>/blobs/uploads/?mount=<digest>&from=<src>` → 201 means the blob is now in `<dst>`
 *   without a byte moving; 202 means the registry opened an upload session instead (the blob was not
 *   mountable), which is then used for a normal upload. 401/403/404 (Harbor refuses a mount from a project
 *   the user cannot read; some registries do not implement mounting) mean "upload normally".
 * - Upload: `POST /v2/<name>/blobs/uploads/` → 202 + `Location`; then either one `PUT <location>&digest=<d>`
 *   carrying the whole blob (monolithic), or, for blobs larger than `chunkSize`, `PATCH <location>` per chunk
 *   (`Content-Range: <start>-<end>`, inclusive; each answer's `Location` is used for the next request), then an
 *   empty `PUT <location>&digest=<d>`. `Location` may be relative or absolute and may already have a query
 *   (`_state=…`); the digest parameter is appended to it textually, never by re-encoding the query.
 *
 * The content always streams: from a buffer, or from a function that opens a fresh stream (for a copy, the
 * source registry's blob GET), through a {@link DigestVerifier} (size and digest checked on the way; the last
 * chunk is held back until the digest is known, so a corrupted blob never arrives whole), into the request
 * body. Nothing holds a whole layer in memory.
 *
 * A failed upload (connection reset mid-body, 5xx, 429, a lost session) is restarted from scratch with a new
 * POST and a freshly opened source: distribution invalidates the session when the client disconnects
 * mid-request (the old `Location` answers 404 BLOB_UPLOAD_INVALID), and a stream cannot be rewound. A digest
 * mismatch is never retried.
 */
import { Readable, pipeline } from 'node:stream';
import { CancelledError, ConfigurationError } from '../errors.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy } from '../http/http.js';
import { sleep } from '../util/sleep.js';
import { DigestVerifier, shortDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { repositoryScope } from './scopes.js';
import type { CallContext, RegistryTransport } from './transport.js';
import { repositoryPath, type RepositoryRef } from './types.js';

/** The content of a blob to upload: bytes, or a function opening a fresh stream for every attempt. */
export type BlobSource = Uint8Array | (() => Promise<Readable>);

export interface UploadOptions extends CallContext {
  /** Blobs larger than this go up in PATCH chunks of this size. Default 64 MiB. */
  chunkSize?: number;
  /** Attempts in all (each restart is a new POST). Default 4. */
  attempts?: number;
  /** An upload session already opened (the `Location` of a mount answered 202), used by the first attempt. */
  session?: string;
  /** Called with the bytes read so far (of the current attempt). */
  onBytes?: (bytesDone: number) => void;
  /** Backoff between attempts. */
  retry?: Partial<RetryPolicy>;
}

export interface UploadResult {
  digest: string;
  /** Bytes of the blob (uploaded once, by the successful attempt). */
  size: number;
  /** Attempts used (1 when nothing failed). */
  attempts: number;
}

export type MountResult =
  | { mounted: true }
  /** Not mounted; `session` is an upload session the registry opened instead (202), if any. */
  | { mounted: false; session?: string; reason: string };

export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024;
export const DEFAULT_UPLOAD_ATTEMPTS = 4;
/** A bound even with a deadline, so a registry that always refuses does not loop for the whole deadline. */
const MAX_ATTEMPTS_UNTIL_DEADLINE = 100;

function blobPath(repo: RepositoryRef, digest: string): string {
  return `/v2/${repo.repository}/blobs/${digest}`;
}

/** `location` with `digest=<d>` appended, keeping its existing query byte for byte. */
export function withDigestParam(location: string, digest: string): string {
  const hash = location.indexOf('#');
  const base = hash >= 0 ? location.slice(0, hash) : location;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}digest=${encodeURIComponent(digest)}`;
}

/** HEAD a blob: its size when it exists, undefined when it does not. */
export async function blobExists(
  t: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  ctx: CallContext = {},
): Promise<number | undefined> {
  const op = {
    registry: repo.registry,
    repository: repo.repository,
    operation: `HEAD blob ${shortDigest(digest)}`,
  };
  const res = await t.send(
    {
      ...op,
      method: 'HEAD',
      path: blobPath(repo, digest),
      scopes: [repositoryScope(repo.repository, 'pull')],
      followRedirects: true,
    },
    ctx,
  );
  await res.dump();
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw await t.failure(res, op);
  const length = res.header('content-length');
  return length !== undefined && /^\d+$/.test(length) ? Number(length) : -1;
}

/** GET a blob as a stream (redirects followed). The caller verifies it (see {@link DigestVerifier}). */
export async function openBlob(
  t: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  ctx: CallContext = {},
): Promise<{ stream: Readable; size?: number }> {
  const op = {
    registry: repo.registry,
    repository: repo.repository,
    operation: `GET blob ${shortDigest(digest)}`,
  };
  const res = await t.send(
    {
      ...op,
      method: 'GET',
      path: blobPath(repo, digest),
      scopes: [repositoryScope(repo.repository, 'pull')],
      followRedirects: true,
    },
    ctx,
  );
  if (res.status !== 200) throw await t.failure(res, op, `${repositoryPath(repo)}@${digest}`);
  const length = res.header('content-length');
  return {
    stream: res.body as unknown as Readable,
    ...(length !== undefined && /^\d+$/.test(length) ? { size: Number(length) } : {}),
  };
}

/** Tries to mount `digest` from `from` (a repository on the same registry) into `repo`. */
export async function mountBlob(
  t: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  from: string,
  ctx: CallContext = {},
): Promise<MountResult> {
  const op = {
    registry: repo.registry,
    repository: repo.repository,
    operation: `mount blob ${shortDigest(digest)} from ${from}`,
  };
  let res;
  try {
    res = await t.send(
      {
        ...op,
        method: 'POST',
        path: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        scopes: [repositoryScope(repo.repository, 'pull', 'push'), repositoryScope(from, 'pull')],
        retryUnsafe: true,
      },
      ctx,
    );
  } catch (err) {
    // A token without pull on the source (Harbor, Docker Hub) ends as an auth/denied error: upload instead.
    if (err instanceof RegistryError && (err.kind === 'auth' || err.kind === 'denied')) {
      return { mounted: false, reason: err.message };
    }
    throw err;
  }
  await res.dump();
  if (res.status === 201) return { mounted: true };
  if (res.status === 202) {
    const location = res.header('location');
    return location
      ? {
          mounted: false,
          session: new URL(location, res.url).toString(),
          reason: 'the registry opened an upload instead',
        }
      : { mounted: false, reason: 'the registry opened an upload without a Location' };
  }
  if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 405) {
    return { mounted: false, reason: `mount answered HTTP ${res.status}` };
  }
  throw await t.failure(res, op);
}

/** POST a new upload session; returns its absolute `Location`. */
export async function startUpload(
  t: RegistryTransport,
  repo: RepositoryRef,
  ctx: CallContext = {},
): Promise<string> {
  const op = { registry: repo.registry, repository: repo.repository, operation: 'start blob upload' };
  const res = await t.send(
    {
      ...op,
      method: 'POST',
      path: `/v2/${repo.repository}/blobs/uploads/`,
      scopes: [repositoryScope(repo.repository, 'pull', 'push')],
      retryUnsafe: true,
    },
    ctx,
  );
  if (res.status !== 202) throw await t.failure(res, op);
  await res.dump();
  const location = res.header('location');
  if (!location) {
    throw new RegistryError(`${repositoryPath(repo)}: the upload session has no Location`, {
      ...op,
      kind: 'protocol',
    });
  }
  return new URL(location, res.url).toString();
}

/** Reads a stream in exact-size pieces, each a stream of its own (for PATCH bodies). */
class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private leftover: Buffer | undefined;

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  take(n: number): Readable {
    return Readable.from(this.pieces(n), { objectMode: false });
  }

  private async *pieces(n: number): AsyncGenerator<Buffer> {
    let remaining = n;
    while (remaining > 0) {
      let chunk = this.leftover;
      this.leftover = undefined;
      if (!chunk) {
        const r = await this.it.next();
        if (r.done) throw new Error('the blob ended before its declared size');
        chunk = r.value;
      }
      if (chunk.length > remaining) {
        this.leftover = chunk.subarray(remaining);
        chunk = chunk.subarray(0, remaining);
      }
      remaining -= chunk.length;
      yield chunk;
    }
  }

  /** Resolves once the source has ended (and its digest verified), rejects on extra bytes. */
  async end(): Promise<void> {
    if (this.leftover && this.leftover.length > 0)
      throw new Error('the blob is larger than its declared size');
    const r = await this.it.next();
    if (!r.done) throw new Error('the blob is larger than its declared size');
  }
}

/** How many times one chunked upload resumes from the registry's offset before it starts over. */
const MAX_RESUMES = 20;

/**
 * PATCHes `blob` in chunks into the session at `location`, then commits it. When a
 * chunk fails for a reason worth retrying (429, 503, a reset), it asks the registry how far the upload got
 * (`GET <location>`: 204 with `Range: 0-<last byte>`) and resumes from there: the bytes before are read again
 * locally, through the digest check, but not sent again. A session the registry no longer knows, or a source
 * that cannot be read again, ends here (the caller starts over with a new session).
 */
async function uploadChunks(
  t: RegistryTransport,
  op: { registry: string; repository: string; operation: string },
  repo: RepositoryRef,
  blob: { digest: string; size: number },
  source: BlobSource,
  location: string,
  o: UploadOptions & { chunkSize: number; policy: RetryPolicy },
  ctx: CallContext,
): Promise<void> {
  const target = repositoryPath(repo);
  const scopes = [repositoryScope(repo.repository, 'pull', 'push')];
  let offset = 0;
  for (let resumes = 0; ; resumes++) {
    const start = offset;
    let seen = 0;
    // Progress counts each byte once, also across resumes.
    const verifier = new DigestVerifier(blob.digest, blob.size, (n) => {
      const fresh = Math.max(0, seen + n - Math.max(seen, start));
      seen += n;
      if (fresh > 0) o.onBytes?.(fresh);
    });
    const input = typeof source === 'function' ? await source() : Readable.from([Buffer.from(source)]);
    const reader = new ChunkReader(pipeline(input, verifier, () => undefined));
    try {
      if (offset > 0) for await (const _ of reader.take(offset)); // re-read locally, never re-sent
      while (offset < blob.size) {
        const length = Math.min(o.chunkSize, blob.size - offset);
        const end = offset + length - 1;
        const res = await t.send(
          {
            ...op,
            operation: `${op.operation} (bytes ${offset}-${end})`,
            method: 'PATCH',
            path: location,
            scopes,
            headers: {
              'content-type': 'application/octet-stream',
              'content-length': String(length),
              'content-range': `${offset}-${end}`,
            },
            body: reader.take(length),
          },
          ctx,
        );
        if (res.status !== 202) throw await t.failure(res, op);
        await res.dump();
        const range = res.header('range');
        if (range !== undefined && !new RegExp(`^(bytes=)?0-${end}$`).test(range.trim())) {
          throw new RegistryError(
            `${target}: after bytes ${offset}-${end} the registry reports Range ${range}`,
            {
              ...op,
              kind: 'protocol',
              retryable: true,
            },
          );
        }
        const next = res.header('location');
        if (next) location = new URL(next, res.url).toString();
        offset += length;
      }
      await reader.end();
      const res = await t.send(
        {
          ...op,
          operation: `${op.operation} (commit)`,
          method: 'PUT',
          path: withDigestParam(location, blob.digest),
          scopes,
          headers: { 'content-length': '0' },
        },
        ctx,
      );
      if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await t.failure(res, op);
      await res.dump();
      return;
    } catch (raw) {
      input.destroy();
      verifier.destroy();
      if (raw instanceof CancelledError || o.signal?.aborted) throw raw;
      const err =
        raw instanceof RegistryError || raw instanceof ConfigurationError ? raw : t.transportError(raw, op);
      if (!isRetryable(err) || typeof source !== 'function' || resumes >= MAX_RESUMES || offset >= blob.size)
        throw err;
      await sleep(retryWait(err, resumes, o.policy), o.signal);
      const status = await uploadStatus(t, op, location, scopes, ctx).catch(() => undefined);
      if (!status) throw err;
      offset = status.offset;
      location = status.location;
      t.logger.info(
        `${target}: upload of ${shortDigest(blob.digest)} interrupted (${err.message}); the registry has ${offset} of ${blob.size} bytes, resuming from there`,
      );
    }
  }
}

/** Where an upload session stands: the next byte to send and the location to send it to; undefined if gone. */
async function uploadStatus(
  t: RegistryTransport,
  op: { registry: string; repository: string; operation: string },
  location: string,
  scopes: ReturnType<typeof repositoryScope>[],
  ctx: CallContext,
): Promise<{ offset: number; location: string } | undefined> {
  const res = await t.send(
    { ...op, operation: `${op.operation} (status)`, method: 'GET', path: location, scopes },
    ctx,
  );
  await res.dump();
  if (res.status !== 204 && res.status !== 202) return undefined;
  // distribution writes `0-<last byte>`, and `0-0` for an empty session.
  const m = /^(?:bytes=)?0-(\d+)$/.exec((res.header('range') ?? '0-0').trim());
  if (!m) return undefined;
  const last = Number(m[1]);
  const next = res.header('location');
  return { offset: last === 0 ? 0 : last + 1, location: next ? new URL(next, res.url).toString() : location };
}

/** Wait before trying again: Retry-After plus jitter, or jittered exponential backoff. */
function retryWait(err: unknown, attempt: number, policy: RetryPolicy): number {
  if (err instanceof RegistryError && err.retryAfterMs !== undefined) {
    const after = Math.min(err.retryAfterMs, policy.maxRetryAfterMs);
    return after + Math.floor(Math.random() * Math.max(250, after / 2));
  }
  return backoffDelay(attempt, policy);
}

function isRetryable(err: unknown): boolean {
  if (err instanceof CancelledError || err instanceof ConfigurationError) return false;
  if (err instanceof RegistryError) {
    if (err.kind === 'digest-mismatch') return false;
    if (err.retryable || err.kind === 'transport') return true;
    // A lost or invalidated session (distribution after a client disconnect).
    return err.hasCode('BLOB_UPLOAD_UNKNOWN') || err.hasCode('BLOB_UPLOAD_INVALID');
  }
  return false;
}

/**
 * Uploads one blob into `repo` (monolithic up to `chunkSize`, else chunked), verifying size and digest while
 * streaming, restarting from a new POST when an attempt fails for a reason worth retrying.
 */
export async function uploadBlob(
  t: RegistryTransport,
  repo: RepositoryRef,
  blob: { digest: string; size: number },
  source: BlobSource,
  opts: UploadOptions = {},
): Promise<UploadResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  // With an operation deadline, restarts go on until it (a rate-limited registry decides how long that takes).
  const untilDeadline = opts.attempts === undefined && t.deadline !== undefined;
  const attempts = opts.attempts ?? (untilDeadline ? MAX_ATTEMPTS_UNTIL_DEADLINE : DEFAULT_UPLOAD_ATTEMPTS);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const ctx: CallContext = { signal: opts.signal, stats: opts.stats };
  const target = repositoryPath(repo);
  const op = {
    registry: repo.registry,
    repository: repo.repository,
    operation: `upload blob ${shortDigest(blob.digest)}`,
  };
  for (let attempt = 1; ; attempt++) {
    let input: Readable | undefined;
    let verifier: DigestVerifier | undefined;
    try {
      const location = attempt === 1 && opts.session ? opts.session : await startUpload(t, repo, ctx);
      if (blob.size > chunkSize) {
        // Chunked: a failure mid-way resumes from the offset the registry confirms, rather than starting over.
        await uploadChunks(t, op, repo, blob, source, location, { ...opts, chunkSize, policy }, ctx);
      } else {
        verifier = new DigestVerifier(blob.digest, blob.size, opts.onBytes);
        input = typeof source === 'function' ? await source() : Readable.from([Buffer.from(source)]);
        const body = pipeline(input, verifier, () => undefined);
        const res = await t.send(
          {
            ...op,
            method: 'PUT',
            path: withDigestParam(location, blob.digest),
            scopes: [repositoryScope(repo.repository, 'pull', 'push')],
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
            body,
          },
          ctx,
        );
        if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await t.failure(res, op);
        await res.dump();
      }
      return { digest: blob.digest, size: blob.size, attempts: attempt };
    } catch (raw) {
      input?.destroy();
      verifier?.destroy();
      if (raw instanceof CancelledError || opts.signal?.aborted) throw raw;
      const err =
        raw instanceof RegistryError || raw instanceof ConfigurationError ? raw : t.transportError(raw, op);
      if (!isRetryable(err) || attempt >= attempts) throw err;
      const wait = retryWait(err, attempt - 1, policy);
      t.logger.info(
        `${target}: upload of ${shortDigest(blob.digest)} failed (${err.message}); restarting (attempt ${attempt + 1}${untilDeadline ? ', until the deadline' : `/${attempts}`}) in ${wait}ms`,
      );
      await sleep(wait, opts.signal);
    }
  }
}
