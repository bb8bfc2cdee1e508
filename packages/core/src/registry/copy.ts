/**
 * The copy / promote / push engine: put an image under one or more destination references, byte for byte
 * (same digest), without rebuilding and with as little traffic as the registries allow.
 *
 * The image comes from an {@link ImageContentSource}: a registry repository ({@link registrySource}, used by
 * {@link copyImage} for promote) or local files such as an OCI layout or an archive ({@link localImageSource},
 * for push-registry). For each copy:
 *
 * 1. Resolve the source to exact root manifest bytes and a digest (a reference's digest wins over its tag).
 *    With `expectedDigest`, refuse when the source moved.
 * 2. Inspect every destination first (HEAD of the target tag): the same digest already there means
 *    `unchanged` and no write at all (ECR's immutable tags reject even an identical re-push); a different digest
 *    is refused unless `allowOverwrite`. Any refusal stops the copy before anything is written anywhere.
 * 3. Content, for each destination repository (once, shared by destinations in the same repository):
 *    - the source's own repository: nothing (a retag is one manifest PUT: GET source + HEAD target + PUT =
 *      3 requests);
 *    - another repository of the source's registry: mount every blob from the source repository (no layer
 *      bytes move); a mount answered with an upload session, or refused (401/403/404), falls back to an upload;
 *    - anywhere else: HEAD each blob, stream the missing ones from the source into the destination.
 *    For an index, every child manifest (all platforms, nested indexes too) is pushed by digest after its
 *    blobs. Blob transfers share the client's concurrency limit.
 * 4. Tags last: only when every destination has all of its content are the root manifests PUT under their tags
 *    (a destination without a tag gets the root by digest only). The digest the registry reports (or a HEAD
 *    when it reports none) must equal the source digest. A failure in step 3 leaves every tag untouched, so
 *    no tag ever points at an incomplete image.
 * 5. Optionally referrers (signatures, attestations) of a registry source: best effort, a warning when they
 *    cannot be copied.
 *
 * `dryRun` does steps 1-2 and the read-only part of 3 (blob HEADs) and reports what would happen.
 */
import type { Readable } from 'node:stream';
import { ConfigurationError, errorMessage } from '../errors.js';
import { formatReference, isDigest, type ImageReference } from '../image/reference.js';
import type { Logger } from '../platform/types.js';
import type { RequestStats } from './auth.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { digestLike, isVerifiableDigest, shortDigest } from './digest.js';
import { DigestMismatchError, findCause, RegistryError } from './errors.js';
import { parseManifest, platformString, type Manifest, type ManifestHead } from './manifest.js';
import { OCI_INDEX } from './media-types.js';
import { formatBytes } from './progress.js';
import { referrersTag, type ReferrersResult } from './referrers.js';
import { repositoryScope } from './scopes.js';
import type { CallContext } from './transport.js';
import { ImageTreeLoader, type ImageNode } from './tree.js';
import { repositoryPath, type Descriptor, type RepositoryRef } from './types.js';

export type CopyAction = 'pushed' | 'unchanged' | 'would-push';

/** What happened at one destination. In a dry run, the counts are what would happen. */
export interface DestinationResult {
  /** The destination, canonical: 'ghcr.io/org/app:1.2.3' (or '…@sha256:…' without a tag). */
  ref: string;
  /** The digest now at the destination (always the source digest). */
  digest: string;
  action: CopyAction;
  /** The digest the destination tag held before, when it held another one (only with allowOverwrite). */
  previousDigest?: string;
  blobsMounted: number;
  blobsUploaded: number;
  bytesUploaded: number;
  /** Blobs already present at the destination. */
  blobsSkipped: number;
  /** Manifests PUT (child manifests, referrers and the root). */
  manifestsPushed: number;
  /** HTTP requests made for this destination (both registries; retries and token requests included). */
  requests: number;
  /** Referrers copied, when asked for. */
  referrers?: { copied: number; via: 'api' | 'tag' | 'none' };
}

export interface CopyResult {
  source: {
    ref: string;
    digest: string;
    mediaType: string;
    /** Platforms of an index ('linux/amd64', …); empty for a single image. */
    platforms: string[];
    /** Requests made to read the source (manifest, child manifests, referrers listing). */
    requests: number;
  };
  destinations: DestinationResult[];
  /** All requests of the copy. */
  requests: number;
}

export interface CopyOptions {
  /** The client to use; else one is made from `logger` and `clientOptions`. */
  client?: RegistryClient;
  logger?: Logger;
  clientOptions?: Omit<RegistryClientOptions, 'logger'>;
  /** Refuse when the source does not resolve to this digest (it moved since it was tested). */
  expectedDigest?: string;
  /** Replace a destination tag that holds another digest (default: refuse). */
  allowOverwrite?: boolean;
  /** Plan without writing. */
  dryRun?: boolean;
  /** Also copy the source's referrers (signatures, SBOMs), best effort (registry sources only). */
  referrers?: boolean;
  signal?: AbortSignal;
}

/** A copy refused before anything was written: the source moved, or a destination holds another image. */
export class CopyRefusedError extends ConfigurationError {
  override readonly name = 'CopyRefusedError';
  constructor(
    message: string,
    readonly reason: 'source-moved' | 'tag-exists' | 'digest-conflict',
    readonly ref: string,
  ) {
    super(message);
  }
}

/** Some destinations failed; `results` holds what was done at the others. */
export class CopyError extends Error {
  override readonly name = 'CopyError';
  constructor(
    message: string,
    readonly failures: Array<{ ref: string; error: Error }>,
    readonly results: DestinationResult[],
  ) {
    super(message, { cause: failures[0]?.error });
  }
}

/** Where the image comes from. */
export interface ImageContentSource {
  /** For messages: 'ghcr.io/org/app:1', 'oci-layout:/path:tag'. */
  readonly display: string;
  /** The registry repository the image lives in, when it does (enables retags and mounts). */
  readonly repository?: RepositoryRef;
  /** The root manifest (exact bytes, digest). */
  resolve(ctx: CallContext): Promise<Manifest>;
  /** A manifest by digest (a child of an index, a referrer), verified. */
  manifest(digest: string, ctx: CallContext): Promise<Manifest>;
  /** A fresh stream of a blob's bytes for every call (uploads verify the digest on the way). */
  openBlob(blob: Descriptor, ctx: CallContext): Promise<Readable>;
  /** Referrers of a manifest, when the source can list them. */
  listReferrers?(digest: string, ctx: CallContext): Promise<ReferrersResult>;
}

/** An image in a registry repository, read through `client`. */
export function registrySource(client: RegistryClient, ref: ImageReference): ImageContentSource {
  const repo: RepositoryRef = { registry: ref.registry, repository: ref.repository };
  return {
    display: formatReference(ref),
    repository: repo,
    resolve: (ctx) => client.resolve(ref, ctx),
    manifest: (digest, ctx) => client.limit(() => client.getManifest(repo, digest, ctx)),
    openBlob: async (blob, ctx) => (await client.openBlob(repo, blob.digest, ctx)).stream,
    listReferrers: (digest, ctx) => client.listReferrers(repo, digest, ctx),
  };
}

/**
 * The shape of a local image (core's `image/source` `ImageSource`: an OCI layout, an OCI or docker archive),
 * described structurally so this module does not depend on how it is read.
 */
export interface LocalImage {
  describe(): string;
  rootManifest(): Promise<{ bytes: Buffer; digest: string; mediaType: string }>;
  manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }>;
  openBlob(digest: string): Promise<{ stream: NodeJS.ReadableStream; size: number }>;
}

function localManifest(where: string, bytes: Buffer, mediaType: string, digest: string): Manifest {
  if (isVerifiableDigest(digest) && digestLike(bytes, digest) !== digest) {
    throw new ConfigurationError(`${where}: manifest ${digest} does not match its content`);
  }
  let parsed;
  try {
    parsed = parseManifest(bytes, mediaType);
  } catch (err) {
    throw new ConfigurationError(`${where}: ${errorMessage(err)}`);
  }
  return { bytes, digest, mediaType: parsed.mediaType, size: bytes.length, parsed };
}

/** An image read from local files (see {@link LocalImage}), for push-registry. */
export function localImageSource(image: LocalImage): ImageContentSource {
  const display = image.describe();
  return {
    display,
    resolve: async () => {
      const m = await image.rootManifest();
      return localManifest(display, m.bytes, m.mediaType, m.digest);
    },
    manifest: async (digest) => {
      const m = await image.manifest(digest);
      return localManifest(display, m.bytes, m.mediaType, digest);
    },
    openBlob: async (blob) => (await image.openBlob(blob.digest)).stream as Readable,
  };
}

interface Job {
  dst: ImageReference;
  display: string;
  /** Tag, or the digest for a destination without a tag. */
  reference: string;
  sameRepository: boolean;
  /** The source is a repository of the destination's registry: blobs can be mounted from it. */
  mountFrom?: string;
  stats: RequestStats;
  /** The HEAD of the destination tag, started while the source was being resolved. */
  earlyHead?: Promise<ManifestHead | undefined>;
  result: DestinationResult;
  skip: boolean;
}

/** A destination's request counter and the HEAD of its tag, started before the source is resolved. */
interface EarlyHead {
  stats: RequestStats;
  head?: Promise<ManifestHead | undefined>;
}

type Failures = Array<{ ref: string; error: Error }>;

function memo<K, V>(map: Map<K, Promise<V>>, key: K, make: () => Promise<V>): Promise<V> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
  }
  return p;
}

/** Runs `fn` on every item, waits for all, and throws the first error only once all have settled. */
async function all<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  const settled = await Promise.allSettled(items.map(fn));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

function clientFor(opts: CopyOptions): RegistryClient {
  if (opts.client) return opts.client;
  if (!opts.logger) throw new TypeError('copyImage/pushImage need a client or a logger');
  return new RegistryClient({ ...opts.clientOptions, logger: opts.logger });
}

/**
 * Promote: copies the image `src` names to every destination in `dsts` (see the module comment). Returns what
 * was done per destination; throws {@link CopyRefusedError} for refusals, {@link RegistryError} or
 * {@link CopyError} for failures (with several destinations, a CopyError lists each).
 */
export async function copyImage(
  src: ImageReference,
  dsts: readonly ImageReference[],
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const client = clientFor(opts);
  return pushImage(registrySource(client, src), dsts, { ...opts, client });
}

/** Pushes the image of any {@link ImageContentSource} to every destination (see the module comment). */
export async function pushImage(
  source: ImageContentSource,
  dsts: readonly ImageReference[],
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const client = clientFor(opts);
  validateCopyRequest(dsts, opts);
  declareCopyScopes(client, source.repository, dsts);
  const copy = new ImageCopy(client, source, opts);
  const heads = copy.startHeads(dsts);
  const root = await copy.resolveSource();
  const jobs = copy.planJobs(dsts, root, heads);
  await copy.inspectDestinations(jobs, root);
  await copy.copyContent(jobs, root);
  await copy.putTags(jobs, root);
  if (opts.referrers) await copy.copyReferrers(jobs, root);
  return copy.result(jobs, root);
}

/** Refuses, before any request, a copy with no destination or an expected digest that is not a digest. */
function validateCopyRequest(dsts: readonly ImageReference[], opts: CopyOptions): void {
  if (dsts.length === 0) throw new ConfigurationError('nothing to copy to: no destination was given');
  if (opts.expectedDigest !== undefined && !isDigest(opts.expectedDigest)) {
    throw new ConfigurationError(
      `the expected digest '${opts.expectedDigest}' is not a digest (sha256:<64 hex>)`,
    );
  }
}

/** One token per registry for the whole copy: push scopes of the destinations, pull of the source. */
function declareCopyScopes(
  client: RegistryClient,
  from: RepositoryRef | undefined,
  dsts: readonly ImageReference[],
): void {
  for (const dst of dsts) {
    client.declareScopes(dst.registry, [repositoryScope(dst.repository, 'pull', 'push')]);
    if (from && dst.registry === from.registry) {
      client.declareScopes(dst.registry, [repositoryScope(from.repository, 'pull')]);
    }
  }
  if (from) client.declareScopes(from.registry, [repositoryScope(from.repository, 'pull')]);
}

/** The platforms of an index ('linux/amd64', …); empty for a single image. */
function platformsOf(root: Manifest): string[] {
  return root.parsed.kind === 'index' ? root.parsed.manifests.map((d) => platformString(d.platform)) : [];
}

/**
 * One copy of one image to its destinations (see the module comment): the client, source and options every
 * step shares, and one method per step, called in order by {@link pushImage}.
 */
class ImageCopy {
  private readonly log: Logger;
  /** Requests made to read the source (manifest, child manifests, referrers listing). */
  private readonly srcStats: RequestStats = { requests: 0 };
  private readonly srcCtx: CallContext;
  /** The manifest tree below the root, fetched once and only if some destination needs it. */
  private readonly tree: ImageTreeLoader;

  constructor(
    private readonly client: RegistryClient,
    private readonly source: ImageContentSource,
    private readonly opts: CopyOptions,
  ) {
    this.log = client.logger;
    this.srcCtx = { signal: opts.signal, stats: this.srcStats };
    this.tree = new ImageTreeLoader((digest) => source.manifest(digest, this.srcCtx));
  }

  /** A call context counting into `stats` (a destination's). */
  private ctx(stats: RequestStats): CallContext {
    return { signal: this.opts.signal, stats };
  }

  /** Starts the HEAD of every tagged destination (step 2) now: it does not depend on the source. */
  startHeads(dsts: readonly ImageReference[]): EarlyHead[] {
    return dsts.map((dst) => {
      const stats: RequestStats = { requests: 0 };
      if (dst.tag === undefined) return { stats };
      const head = this.client.headManifest(dst, dst.tag, this.ctx(stats));
      head.catch(() => undefined); // awaited in step 2; a failure there, not an unhandled rejection here
      return { stats, head };
    });
  }

  /** 1. The source's exact root manifest; refused when it no longer resolves to the expected digest. */
  async resolveSource(): Promise<Manifest> {
    const { source, opts } = this;
    const root = await source.resolve(this.srcCtx);
    if (opts.expectedDigest !== undefined && root.digest !== opts.expectedDigest) {
      throw new CopyRefusedError(
        `refusing to copy ${source.display}: it now resolves to ${root.digest}, not the expected ${opts.expectedDigest} (the source moved)`,
        'source-moved',
        source.display,
      );
    }
    this.log.info(
      `${source.display} is ${root.digest} (${root.parsed.kind === 'index' ? `index of ${platformsOf(root).join(', ')}` : 'single image'})`,
    );
    return root;
  }

  /** One job per destination; refused when a destination names a digest other than the source's. */
  planJobs(dsts: readonly ImageReference[], root: Manifest, heads: EarlyHead[]): Job[] {
    const from = this.source.repository;
    return dsts.map((dst, i) => {
      if (dst.digest !== undefined && dst.digest !== root.digest) {
        throw new CopyRefusedError(
          `destination ${formatReference(dst)} names digest ${dst.digest}, but ${this.source.display} is ${root.digest}`,
          'digest-conflict',
          formatReference(dst),
        );
      }
      const display = `${repositoryPath(dst)}${dst.tag !== undefined ? `:${dst.tag}` : `@${root.digest}`}`;
      const sameRegistry = from !== undefined && from.registry === dst.registry;
      return {
        dst,
        display,
        reference: dst.tag ?? root.digest,
        sameRepository: sameRegistry && from.repository === dst.repository,
        ...(sameRegistry ? { mountFrom: from.repository } : {}),
        stats: heads[i]!.stats,
        earlyHead: heads[i]!.head,
        skip: false,
        result: {
          ref: display,
          digest: root.digest,
          action: this.opts.dryRun ? 'would-push' : 'pushed',
          blobsMounted: 0,
          blobsUploaded: 0,
          bytesUploaded: 0,
          blobsSkipped: 0,
          manifestsPushed: 0,
          requests: 0,
        },
      };
    });
  }

  /**
   * 2. Inspects every destination before anything is written: the same digest marks the job unchanged
   * (skipped); another digest is refused, all refusals at once, unless allowOverwrite.
   */
  async inspectDestinations(jobs: Job[], root: Manifest): Promise<void> {
    const { client, opts } = this;
    const refusals: CopyRefusedError[] = [];
    await all(jobs, async (job) => {
      const ctx = this.ctx(job.stats);
      const head = await (job.earlyHead ?? client.headManifest(job.dst, job.reference, ctx));
      let current = head?.digest;
      if (head && current === undefined)
        current = (await client.getManifest(job.dst, job.reference, ctx)).digest;
      if (current === root.digest) {
        job.result.action = 'unchanged';
        job.skip = true;
      } else if (current !== undefined) {
        if (!opts.allowOverwrite) {
          refusals.push(
            new CopyRefusedError(
              `refusing to overwrite ${job.display}: it holds ${current}, not ${root.digest} (allow overwriting to replace it)`,
              'tag-exists',
              job.display,
            ),
          );
        }
        job.result.previousDigest = current;
      }
    });
    if (refusals.length === 1) throw refusals[0];
    if (refusals.length > 1) {
      throw new CopyRefusedError(refusals.map((r) => r.message).join('; '), 'tag-exists', refusals[0]!.ref);
    }
  }

  /** 3. Content, once per destination repository; on any failure it throws and no tag was changed. */
  async copyContent(jobs: Job[], root: Manifest): Promise<void> {
    const contents = new Map<string, Promise<void>>();
    const failures: Failures = [];
    await Promise.all(
      jobs
        .filter((j) => !j.skip && !j.sameRepository)
        .map((job) =>
          memo(contents, repositoryPath(job.dst), async () =>
            this.copyNode(job, await this.tree.load(root), true, new Map()),
          ).catch((err: unknown) => {
            failures.push({ ref: job.display, error: err as Error });
          }),
        ),
    );
    if (failures.length > 0) throw failure(failures, jobs, 'no tag was changed');
  }

  /** 4. Tags last: the root PUT under every destination's tag, and the digest the registry holds checked. */
  async putTags(jobs: Job[], root: Manifest): Promise<void> {
    const failures: Failures = [];
    await Promise.all(
      jobs
        .filter((j) => !j.skip && !this.opts.dryRun)
        .map(async (job) => {
          try {
            await this.putTag(job, root);
          } catch (err) {
            failures.push({ ref: job.display, error: err as Error });
          }
        }),
    );
    if (failures.length > 0) throw failure(failures, jobs, 'other destinations were updated');
  }

  /** PUTs the root under one job's reference; throws unless the destination then holds the source digest. */
  private async putTag(job: Job, root: Manifest): Promise<void> {
    const { client } = this;
    const ctx = this.ctx(job.stats);
    const put = await client.putManifest(job.dst, job.reference, root, ctx);
    job.result.manifestsPushed++;
    const stored = put.registryDigest ?? (await client.headManifest(job.dst, job.reference, ctx))?.digest;
    if (stored !== undefined && stored !== root.digest) {
      throw new RegistryError(`${job.display} now holds ${stored}, expected ${root.digest}`, {
        kind: 'digest-mismatch',
        registry: job.dst.registry,
        repository: job.dst.repository,
        operation: `PUT manifest ${job.display}`,
      });
    }
  }

  /** The result: each destination's request count, one log line per destination, the totals. */
  result(jobs: Job[], root: Manifest): CopyResult {
    for (const job of jobs) {
      job.result.requests = job.stats.requests;
      const r = job.result;
      this.log.info(
        `${r.ref}: ${r.action} ${shortDigest(r.digest)} (${r.blobsMounted} mounted, ${r.blobsUploaded} uploaded ${formatBytes(r.bytesUploaded)}, ${r.blobsSkipped} present; ${r.requests} requests)`,
      );
    }
    const destinations = jobs.map((j) => j.result);
    const srcRequests = this.srcStats.requests;
    return {
      source: {
        ref: this.source.display,
        digest: root.digest,
        mediaType: root.mediaType,
        platforms: platformsOf(root),
        requests: srcRequests,
      },
      destinations,
      requests: srcRequests + destinations.reduce((n, d) => n + d.requests, 0),
    };
  }

  /**
   * Copies one manifest's content into the job's repository: for an index its children first (each PUT by
   * digest), for an image its blobs; then the manifest itself by digest unless it is the root (tagged later).
   */
  private async copyNode(
    job: Job,
    node: ImageNode,
    isRoot: boolean,
    done: Map<string, Promise<void>>,
  ): Promise<void> {
    const { client, opts } = this;
    return memo(done, `manifest ${node.manifest.digest}`, async () => {
      if (node.manifest.parsed.kind === 'index') {
        await all(node.children, (child) => this.copyNode(job, child, false, done));
      } else {
        await all(node.blobs, (blob) => memo(done, `blob ${blob.digest}`, () => this.ensureBlob(job, blob)));
      }
      if (!isRoot && !opts.dryRun) {
        const ctx = this.ctx(job.stats);
        await client.limit(() => client.putManifest(job.dst, node.manifest.digest, node.manifest, ctx));
        job.result.manifestsPushed++;
      }
    });
  }

  /** Makes one blob present in the job's repository: mount, skip, or stream it. */
  private async ensureBlob(job: Job, blob: Descriptor): Promise<void> {
    const { client, opts } = this;
    const ctx = this.ctx(job.stats);
    const r = job.result;
    if (job.mountFrom !== undefined) {
      if (opts.dryRun) {
        r.blobsMounted++;
        return;
      }
      const mount = await client.limitMeta(() => client.mountBlob(job.dst, blob.digest, job.mountFrom!, ctx));
      if (mount.mounted) {
        r.blobsMounted++;
        return;
      }
      client.logger.debug(
        `${job.display}: ${shortDigest(blob.digest)} not mounted (${mount.reason}); uploading`,
      );
      if (mount.session) return this.uploadBlob(job, blob, mount.session);
    }
    const size = await client.limitMeta(() => client.blobExists(job.dst, blob.digest, ctx));
    if (size !== undefined) {
      r.blobsSkipped++;
      return;
    }
    await this.uploadBlob(job, blob);
  }

  /**
   * Streams one blob from the source into the job's repository (in a dry run, only counts it); content that
   * does not match its digest is blamed on the source, and nothing is written.
   */
  private async uploadBlob(job: Job, blob: Descriptor, session?: string): Promise<void> {
    const { client, source } = this;
    const ctx = this.ctx(job.stats);
    if (!this.opts.dryRun) {
      await client
        .limit(() =>
          client.uploadBlob(job.dst, blob, () => source.openBlob(blob, ctx), {
            ...ctx,
            ...(session ? { session } : {}),
          }),
        )
        .catch((err: unknown) => {
          const mismatch = findCause(err, DigestMismatchError);
          if (!(err instanceof RegistryError && err.kind === 'digest-mismatch' && mismatch)) throw err;
          const what = source.repository
            ? `${repositoryPath(source.repository)}@${blob.digest}`
            : `${source.display} (blob ${blob.digest})`;
          throw new RegistryError(
            `${what} served content that does not match its digest (${mismatch.message}); nothing was written to ${repositoryPath(job.dst)}`,
            {
              kind: 'digest-mismatch',
              registry: job.dst.registry,
              repository: job.dst.repository,
              operation: err.operation,
              cause: err,
            },
          );
        });
    }
    job.result.blobsUploaded++;
    job.result.bytesUploaded += blob.size;
  }

  /** 5. Best effort: copies the root's referrers to every destination that got (or already had) the image. */
  async copyReferrers(jobs: Job[], root: Manifest): Promise<void> {
    const { source, log } = this;
    if (!source.listReferrers) {
      log.warning(`referrers of ${source.display} cannot be listed (not a registry source); skipped`);
      return;
    }
    let listing: ReferrersResult;
    try {
      listing = await source.listReferrers(root.digest, this.srcCtx);
    } catch (err) {
      log.warning(`referrers of ${source.display} could not be listed: ${errorMessage(err)}`);
      return;
    }
    for (const job of jobs) {
      if (this.opts.dryRun || job.sameRepository) {
        job.result.referrers = { copied: 0, via: listing.via };
        continue;
      }
      try {
        const done = new Map<string, Promise<void>>();
        for (const d of listing.descriptors) {
          await this.copyNode(job, await this.tree.loadDescriptor(d), false, done);
        }
        if (listing.descriptors.length > 0) await this.updateReferrersTag(job, root, listing.descriptors);
        job.result.referrers = { copied: listing.descriptors.length, via: listing.via };
      } catch (err) {
        log.warning(
          `${job.display}: referrers of ${shortDigest(root.digest)} were not copied: ${errorMessage(err)}`,
        );
      }
    }
  }

  /** Keeps the fallback tag up to date where the destination has no referrers API: it lists all referrers. */
  private async updateReferrersTag(job: Job, root: Manifest, referrers: Descriptor[]): Promise<void> {
    const { client } = this;
    const jobCtx = this.ctx(job.stats);
    const there = await client.listReferrers(job.dst, root.digest, jobCtx);
    if (there.via === 'api') return;
    const known = new Set(there.descriptors.map((d) => d.digest));
    const missing = referrers.filter((d) => !known.has(d.digest));
    if (missing.length === 0) return;
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [...there.descriptors, ...missing],
      }),
    );
    await client.putManifest(job.dst, referrersTag(root.digest), { bytes, mediaType: OCI_INDEX }, jobCtx);
    job.result.manifestsPushed++;
  }
}

function failure(failures: Failures, jobs: Job[], consequence: string): Error {
  if (jobs.length === 1 && failures.length === 1) return failures[0]!.error;
  for (const job of jobs) job.result.requests = job.stats.requests;
  const list = failures.map((f) => `${f.ref}: ${errorMessage(f.error)}`).join('; ');
  return new CopyError(
    `copy failed for ${failures.length} of ${jobs.length} destinations (${consequence}): ${list}`,
    failures,
    jobs.filter((j) => !failures.some((f) => f.ref === j.display)).map((j) => j.result),
  );
}
