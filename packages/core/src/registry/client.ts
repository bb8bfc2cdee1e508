/**
 * {@link RegistryClient}: Kiln's OCI distribution client. One instance holds what is learnt per registry
 * (scheme, auth challenge, tokens, credentials) and a concurrency limit shared by everything it transfers;
 * create one per action run and pass it around.
 *
 * It is a thin facade: transport.ts (scheme, auth, redirects, errors), auth.ts (Basic / Bearer tokens),
 * credentials.ts (where credentials come from), manifest.ts, blobs.ts and referrers.ts (the protocol), and
 * copy.ts (the promote engine built on top of it).
 */
import type { Readable } from 'node:stream';
import type { RetryPolicy } from '../http/http.js';
import type { ImageReference } from '../image/reference.js';
import type { Logger } from '../platform/types.js';
import { Authenticator } from './auth.js';
import {
  blobExists,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_UPLOAD_ATTEMPTS,
  mountBlob,
  openBlob,
  uploadBlob,
  type BlobSource,
  type MountResult,
  type UploadResult,
} from './blobs.js';
import { CredentialStore, type CredentialSource, type ExplicitCredentials } from './credentials.js';
import { DigestMismatchError, findCause, RegistryError } from './errors.js';
import { createLimiter, type Limiter } from './limiter.js';
import {
  getManifest,
  headManifest,
  putManifest,
  type Manifest,
  type ManifestHead,
  type PutManifestResult,
} from './manifest.js';
import { progressReporter, type ProgressCallback } from './progress.js';
import { listReferrers, type ReferrersResult } from './referrers.js';
import type { Scope } from './scopes.js';
import { listTags, type ListTagsOptions } from './tags.js';
import { RegistryTransport, type CallContext } from './transport.js';
import { repositoryPath, type Descriptor, type RepositoryRef } from './types.js';

export interface RegistryClientOptions {
  /** Where every message goes (debug: one line per request; info: progress and restarts). */
  logger: Logger;
  /** Aborts everything this client does (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** The operation's deadline (ms since the epoch): requests retry until then (see TransportOptions). */
  deadline?: number;
  /**
   * Where credentials come from. Default: a {@link CredentialStore} over `explicitCredentials`, the docker
   * config (`dockerConfigDir`) and the CI variables in `env`.
   */
  credentials?: CredentialSource;
  explicitCredentials?: ExplicitCredentials;
  dockerConfigDir?: string;
  /** Environment for DOCKER_CONFIG/HOME, CI credentials, helper processes and proxies. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called with every secret found or obtained (passwords, tokens) before use: the platform masks it. */
  onSecret?: (value: string) => void;
  /**
   * Registries (`host:port`, or `host` for every port) reached with TLS verification off, falling back to
   * plain http. Loopback registries use plain http without being listed (see transport.ts).
   */
  insecureRegistries?: readonly string[];
  /** Per-request timeout (to the response headers; the longest silence in a body). Default 30 s. */
  timeoutMs?: number;
  /** HTTP retry policy (429/5xx/resets), also the backoff between upload restarts. */
  retry?: Partial<RetryPolicy>;
  /** Blob transfers at once. Default 4. */
  concurrency?: number;
  /** Blobs larger than this are uploaded in PATCH chunks of this size. Default 64 MiB. */
  chunkSize?: number;
  /** Attempts per blob upload (each restart opens a new upload session). Default 4. */
  uploadAttempts?: number;
  /** Progress callback for blob uploads. */
  onProgress?: ProgressCallback;
  /** At most one progress log line per blob per this many ms. Default 10 s. */
  progressIntervalMs?: number;
  /** Clock (token expiry), for tests. */
  now?: () => number;
}

export class RegistryClient {
  readonly logger: Logger;
  readonly transport: RegistryTransport;
  readonly auth: Authenticator;
  /** Limits concurrent blob transfers (shared by every copy made with this client). */
  /** Transfers (blob uploads and downloads, manifest writes): `concurrency` at a time. */
  readonly limit: Limiter;
  /**
   * Cheap metadata requests (blob HEADs, mounts): no bytes move, so they go wider than transfers; one round
   * trip covers every blob of an ordinary image instead of several waves.
   */
  readonly limitMeta: Limiter;
  readonly signal?: AbortSignal;
  private readonly opts: RegistryClientOptions;

  constructor(opts: RegistryClientOptions) {
    this.opts = opts;
    this.logger = opts.logger;
    this.signal = opts.signal;
    const credentials =
      opts.credentials ??
      new CredentialStore({
        explicit: opts.explicitCredentials,
        dockerConfigDir: opts.dockerConfigDir,
        env: opts.env,
        onSecret: opts.onSecret,
        logger: opts.logger,
        signal: opts.signal,
      }).get;
    this.transport = new RegistryTransport({
      logger: opts.logger,
      insecureRegistries: opts.insecureRegistries,
      env: opts.env,
      timeoutMs: opts.timeoutMs,
      retry: opts.retry,
      signal: opts.signal,
      deadline: opts.deadline,
      auth: (this.auth = new Authenticator({
        credentials,
        logger: opts.logger,
        onSecret: opts.onSecret,
        isInsecureHost: (host) => this.transport.isInsecureHost(host),
        env: opts.env,
        timeoutMs: opts.timeoutMs,
        retry: opts.retry,
        now: opts.now,
      })),
    });
    this.limit = createLimiter(opts.concurrency ?? 4);
    this.limitMeta = createLimiter(Math.max(16, opts.concurrency ?? 4));
  }

  /** Options this client was made with (read-only view). */
  get options(): Readonly<RegistryClientOptions> {
    return this.opts;
  }

  /**
   * Scopes every token for `registry` should carry (e.g. `repository:dst:pull,push` and `repository:src:pull`
   * for a promote), so one token request serves a whole operation.
   */
  declareScopes(registry: string, scopes: Iterable<Scope | string>): void {
    this.auth.declareScopes(registry, scopes);
  }

  /** GET a manifest by tag or digest: the exact bytes, verified against every digest known. */
  getManifest(repo: RepositoryRef, reference: string, ctx?: CallContext): Promise<Manifest> {
    return getManifest(this.transport, repo, reference, ctx);
  }

  /** GET the manifest an image reference names (by digest when it has one, else its tag, else 'latest'). */
  resolve(ref: ImageReference, ctx?: CallContext): Promise<Manifest> {
    return getManifest(this.transport, ref, ref.digest ?? ref.tag ?? 'latest', ctx);
  }

  /** HEAD a manifest: digest, media type and size; undefined when absent. */
  headManifest(repo: RepositoryRef, reference: string, ctx?: CallContext): Promise<ManifestHead | undefined> {
    return headManifest(this.transport, repo, reference, ctx);
  }

  /** PUT exact manifest bytes under a tag or digest (Content-Type = its media type); returns the digest. */
  putManifest(
    repo: RepositoryRef,
    reference: string,
    manifest: { bytes: Uint8Array; mediaType: string },
    ctx?: CallContext,
  ): Promise<PutManifestResult> {
    return putManifest(this.transport, repo, reference, manifest, ctx);
  }

  /** Size of a blob when it exists (-1 when the registry sent no length), undefined when absent. */
  blobExists(repo: RepositoryRef, digest: string, ctx?: CallContext): Promise<number | undefined> {
    return blobExists(this.transport, repo, digest, ctx);
  }

  /** A blob's content as a stream (not verified: pipe it through a `DigestVerifier`). */
  openBlob(
    repo: RepositoryRef,
    digest: string,
    ctx?: CallContext,
  ): Promise<{ stream: Readable; size?: number }> {
    return openBlob(this.transport, repo, digest, ctx);
  }

  /** Mounts a blob from another repository of the same registry. */
  mountBlob(repo: RepositoryRef, digest: string, from: string, ctx?: CallContext): Promise<MountResult> {
    return mountBlob(this.transport, repo, digest, from, ctx);
  }

  /**
   * Uploads a blob (monolithic, or chunked above `chunkSize`), streamed and verified, restarting failed
   * attempts. `session` is an upload already opened by a mount answered 202.
   */
  uploadBlob(
    repo: RepositoryRef,
    blob: { digest: string; size: number },
    source: BlobSource,
    ctx: CallContext & { session?: string } = {},
  ): Promise<UploadResult> {
    const report = progressReporter(repositoryPath(repo), blob.digest, blob.size, {
      logger: this.logger,
      onProgress: this.opts.onProgress,
      intervalMs: this.opts.progressIntervalMs ?? 10_000,
    });
    return uploadBlob(this.transport, repo, blob, source, {
      ...ctx,
      chunkSize: this.opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
      // Without a count of its own, an upload restarts until the operation's deadline (see uploadBlob).
      attempts:
        this.opts.uploadAttempts ?? (this.opts.deadline === undefined ? DEFAULT_UPLOAD_ATTEMPTS : undefined),
      retry: this.opts.retry,
      onBytes: report,
    });
  }

  /**
   * Streams a blob from `src` into `dst` (any registries): the source GET is piped into the destination's
   * upload, verified on the way; every restart re-opens the source.
   */
  copyBlob(
    src: RepositoryRef,
    dst: RepositoryRef,
    blob: Pick<Descriptor, 'digest' | 'size'>,
    ctx: CallContext & { session?: string } = {},
  ): Promise<UploadResult> {
    return this.uploadBlob(
      dst,
      blob,
      async () => (await this.openBlob(src, blob.digest, { signal: ctx.signal, stats: ctx.stats })).stream,
      ctx,
    ).catch((err: unknown) => {
      const mismatch = findCause(err, DigestMismatchError);
      if (err instanceof RegistryError && err.kind === 'digest-mismatch' && mismatch) {
        throw new RegistryError(
          `${repositoryPath(src)}@${blob.digest} served content that does not match its digest (${mismatch.message}); nothing was written to ${repositoryPath(dst)}`,
          {
            kind: 'digest-mismatch',
            registry: src.registry,
            repository: src.repository,
            operation: err.operation,
            cause: err,
          },
        );
      }
      throw err;
    });
  }

  /** The repository's tags, page by page (none when it does not exist). */
  listTags(repo: RepositoryRef, o: ListTagsOptions = {}): Promise<string[]> {
    return listTags(this.transport, repo, o);
  }

  /** Referrers of a manifest: the referrers API, else the `sha256-<hex>` tag. */
  listReferrers(repo: RepositoryRef, digest: string, ctx?: CallContext): Promise<ReferrersResult> {
    return listReferrers(this.transport, repo, digest, ctx);
  }
}
