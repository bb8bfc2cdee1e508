/**
 * `layer-append`: Kiln's daemonless builder (the crane append / ko / jib idea, over Kiln's registry client). New
 * layers — directories written with the deterministic tar writer, or existing tarballs — are appended to a base
 * image that stays in its registry, and the config is set from inputs. No daemon, no root, and the base's layer
 * bytes never pass through Kiln when the target is on the base's registry.
 *
 * 1. In parallel: the new layers are built into gzip blobs in a work dir (tar.ts, layer.ts), the base is resolved
 *    (tag or digest), and the target tags are looked up (HEAD).
 * 2. The images to bake: a single image, or, for an index (a multi-arch base), every platform's image manifest
 *    (or those `platforms` names). Per image, only the manifest and its config (small JSON) are read.
 *    Attestation manifests and entries that are not image manifests are left out (they describe the base).
 * 3. Per image: the new config (config.ts), and the manifest: the base's with the new config and the new
 *    layers appended, in the base's media types (a Docker schema-2 base gets Docker-typed gzip layers, an OCI
 *    base OCI ones). OCI manifests and indexes get `org.opencontainers.image.base.digest` and `annotations`.
 *    For an index base, a new index of the new manifests (platforms and entry annotations kept).
 * 4. The target (a registry repository), in this order:
 *    - tags first looked at: a tag already holding the result is `unchanged` (nothing written for it); a tag
 *      holding another image is refused unless `allowOverwrite` (nothing is written at all);
 *    - the base's layers: nothing to do in the base's own repository; mounted (`mountBlob`) from the base
 *      repository on the same registry (a layer the target already has mounts too); HEAD then a registry →
 *      registry stream copy when the base is on another registry (a mount is impossible there: said in the log
 *      and reported as `baseLayers.copied`);
 *    - the new layers (once per target repository, whatever the number of platforms), then the configs
 *      (skipped when the target has them: HEAD);
 *    - the per-platform manifests by digest (for an index);
 *    - tags LAST: the root is PUT under each tag only when everything else is in place, and the digest the
 *      registry stored is checked. A failure before leaves every tag untouched. Without a tag, the root is PUT
 *      by digest.
 * 5. Optionally an OCI image layout (`ociLayout`): the new blobs, configs and manifests, and — since a layout
 *    must be complete — the base's layers, downloaded (said in the log; `ociLayout.baseBytesDownloaded`).
 *
 * Same inputs, same result: layers are deterministic (sorted entries, fixed mtime and owners, fixed gzip),
 * configs keep the base's `created` unless one is given, and history entries name a layer by its diff_id and
 * destination, not by the local path it was read from.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, ConfigurationError, errorMessage } from '../errors.js';
import { formatReference, isValidTag, type ImageReference } from '../image/reference.js';
import type { Logger } from '../platform/types.js';
import type { RequestStats } from '../registry/auth.js';
import type { RegistryClient } from '../registry/client.js';
import { CopyRefusedError } from '../registry/copy.js';
import { computeDigest, DigestVerifier, shortDigest } from '../registry/digest.js';
import { DigestMismatchError, findCause, RegistryError } from '../registry/errors.js';
import { manifestBlobs, platformString, type Manifest } from '../registry/manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, isImageManifestMediaType } from '../registry/media-types.js';
import { formatBytes } from '../registry/progress.js';
import { repositoryScope } from '../registry/scopes.js';
import type { CallContext } from '../registry/transport.js';
import {
  repositoryPath,
  type Descriptor,
  type ImagePlatform,
  type RepositoryRef,
} from '../registry/types.js';
import { isJsonObject, parseJson, stringifyJson, type JsonObject, type JsonValue } from '../util/json.js';
import { BakeError } from './builder.js';
import { applyConfigChanges, resolveCreated, type ImageConfigChanges } from './config.js';
import { buildLayer, type BuiltLayer, type LayerSource } from './layer.js';
import { OciLayoutWriter } from './oci-layout.js';
import { normaliseDestination, type TarOwner } from './tar.js';

export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const BASE_DIGEST_ANNOTATION = 'org.opencontainers.image.base.digest';
/** Largest base config read (configs are a few KiB; 16 MiB is far beyond any real one). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Options of {@link appendLayers}. */
export interface AppendLayersOptions {
  client: RegistryClient;
  /** The base image (tag or digest); an index (multi-arch) gets the layers on every selected platform. */
  base: ImageReference;
  /** The repository to write, with its tag (optional; written last). No digest. */
  target?: ImageReference;
  /** More tags for the target (written last, like its own). */
  tags?: string[];
  /** The new layers, in order (bottom first). May be empty (a config-only change). */
  layers: LayerSource[];
  config?: ImageConfigChanges;
  /** Platforms of a multi-arch base to bake (`linux/amd64`, `linux/arm64/v8`; `os/arch` matches any variant). */
  platforms?: string[];
  /** Annotations of the new manifests and index (OCI media types only). */
  annotations?: Record<string, string>;
  /** Also (or only) write the result into an OCI image layout, named `tag` (default: the target's tag, else `latest`). */
  ociLayout?: string | { dir: string; tag?: string };
  /**
   * The digest this bake must produce (a verified earlier bake of the same inputs): checked before anything is
   * written, so a layer source that changed in between never reaches the layout or the registry.
   */
  expectDigest?: string;
  /** mtime of every entry of the new layers, seconds (`SOURCE_DATE_EPOCH`). Default 0. */
  mtime?: number;
  /** Owner of every entry of the new layers. Default root (0:0). */
  owner?: Partial<TarOwner>;
  /** gzip level of the new layers. Default 6. */
  gzipLevel?: number;
  /** Replace a target tag that holds another image (default: refuse before writing anything). */
  allowOverwrite?: boolean;
  /** Where the layer blobs are built (a temp dir inside it, removed at the end). Default: the OS temp dir. */
  workDir?: string;
  signal?: AbortSignal;
  /** Default: the client's logger. */
  log?: Logger;
}

/** One new layer, as appended to every image. */
export interface AppendedLayer {
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
  /** What it was built from (`directory /src → /app`, `tarball /x.tar.gz`). */
  source: string;
}

/** The result of {@link appendLayers}. */
export interface AppendResult {
  /** Digest of the root: the new index for an index base, else the new manifest. */
  digest: string;
  mediaType: string;
  platforms: string[];
  manifests: Array<{ platform: string; digest: string; config: string; base: string }>;
  layers: AppendedLayer[];
  base: { ref: string; digest: string; mediaType: string };
  /** What happened at the registry target, when there is one. */
  target?: {
    /** `registry/repository`. */
    repository: string;
    /** `pushed` when anything was written, `unchanged` when every tag (or the digest) already held the result. */
    action: 'pushed' | 'unchanged';
    tags: Array<{ tag: string; action: 'pushed' | 'unchanged'; previousDigest?: string }>;
  };
  /** The base's layers at the target. */
  baseLayers: { mounted: number; present: number; copied: number; bytesCopied: number };
  /** Blob bytes sent to the target registry (new layers, configs, and base layers copied from another registry). */
  bytesUploaded: number;
  blobsUploaded: number;
  manifestsPushed: number;
  /** When written: the layout, its tag and the base layer bytes downloaded for it. */
  ociLayout?: { dir: string; tag: string; baseBytesDownloaded: number; blobsWritten: number };
  /** HTTP requests made (retries and token requests included). */
  requests: number;
}

/** One image being baked (a platform of an index, or the single base image). */
interface Bake {
  platform: string;
  entry?: Descriptor;
  base: Manifest;
  /** Base blobs the new manifest references (its layers; not the base config). */
  baseLayers: Descriptor[];
  config: { descriptor: Descriptor; bytes: Buffer };
  manifest: { digest: string; mediaType: string; bytes: Buffer };
}

/** Runs `fn` on every item, waits for all, and throws the first error once all have settled. */
async function all<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const settled = await Promise.allSettled(items.map(fn));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

function memo<V>(map: Map<string, Promise<V>>, key: string, make: () => Promise<V>): Promise<V> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
  }
  return p;
}

const PLATFORM_RE = /^[a-z0-9_.-]+\/[a-z0-9_.-]+(\/[a-z0-9_.-]+)?$/i;

function platformMatches(filter: string, p: ImagePlatform | undefined): boolean {
  if (!p) return false;
  const [os, arch, variant] = filter.split('/');
  return p.os === os && p.architecture === arch && (variant === undefined || p.variant === variant);
}

/** The platform a config describes (`os`, `architecture`, `variant`). */
function configPlatform(config: JsonObject): ImagePlatform | undefined {
  if (typeof config.os !== 'string' || typeof config.architecture !== 'string') return undefined;
  return {
    os: config.os,
    architecture: config.architecture,
    ...(typeof config.variant === 'string' ? { variant: config.variant } : {}),
  };
}

function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

/** Reads a small blob whole, verified against its digest and size. */
async function readSmallBlob(
  client: RegistryClient,
  repo: RepositoryRef,
  d: Descriptor,
  ctx: CallContext,
): Promise<Buffer> {
  const where = `${repositoryPath(repo)}@${d.digest}`;
  if (d.size > MAX_CONFIG_BYTES) {
    throw new ConfigurationError(
      `${where}: a config of ${d.size} bytes is larger than Kiln reads (${MAX_CONFIG_BYTES})`,
    );
  }
  return client.limit(async () => {
    const { stream } = await client.openBlob(repo, d.digest, ctx);
    const chunks: Buffer[] = [];
    try {
      await pipeline(
        stream,
        new DigestVerifier(d.digest, d.size),
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            chunks.push(chunk);
            cb();
          },
        }),
        { signal: ctx.signal },
      );
    } catch (err) {
      const mismatch = findCause(err, DigestMismatchError);
      if (mismatch) {
        throw new RegistryError(`${where}: ${mismatch.message}`, {
          kind: 'digest-mismatch',
          registry: repo.registry,
          repository: repo.repository,
          operation: `GET blob ${shortDigest(d.digest)}`,
          cause: err,
        });
      }
      throw err;
    }
    return Buffer.concat(chunks);
  });
}

function parseObject(bytes: Buffer, what: string): JsonObject {
  let value: JsonValue;
  try {
    value = parseJson(bytes.toString('utf8'));
  } catch (err) {
    throw new ConfigurationError(`${what} is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isJsonObject(value)) throw new ConfigurationError(`${what} is not a JSON object`);
  return value;
}

const jsonBytes = (value: JsonValue): Buffer => Buffer.from(stringifyJson(value, 0), 'utf8');

function descriptorJson(d: Descriptor): JsonObject {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

function checkOptions(opts: AppendLayersOptions): { tags: string[]; layout?: { dir: string; tag: string } } {
  if (!opts.target && !opts.ociLayout) {
    throw new ConfigurationError('layer-append needs a target repository, an OCI layout, or both');
  }
  if (opts.target?.digest !== undefined) {
    throw new ConfigurationError(
      `the target ${formatReference(opts.target)} names a digest; a bake's digest is known only once it is built (give a repository and tags)`,
    );
  }
  const tags = [
    ...new Set([...(opts.target?.tag !== undefined ? [opts.target.tag] : []), ...(opts.tags ?? [])]),
  ];
  for (const tag of tags) if (!isValidTag(tag)) throw new ConfigurationError(`'${tag}' is not a valid tag`);
  if (tags.length > 0 && !opts.target)
    throw new ConfigurationError('tags were given without a target repository');
  for (const p of opts.platforms ?? []) {
    if (!PLATFORM_RE.test(p)) throw new ConfigurationError(`platform '${p}' is not os/arch[/variant]`);
  }
  let layout: { dir: string; tag: string } | undefined;
  if (opts.ociLayout !== undefined) {
    const o = typeof opts.ociLayout === 'string' ? { dir: opts.ociLayout } : opts.ociLayout;
    const tag = o.tag ?? opts.target?.tag ?? 'latest';
    if (!isValidTag(tag)) throw new ConfigurationError(`'${tag}' is not a valid OCI layout name`);
    layout = { dir: o.dir, tag };
  }
  return { tags, ...(layout ? { layout } : {}) };
}

/** Appends layers to a base image and writes the result (see the module comment). */
export async function appendLayers(opts: AppendLayersOptions): Promise<AppendResult> {
  const { client, base, target } = opts;
  const log = opts.log ?? client.logger;
  const { tags, layout } = checkOptions(opts);
  const created = resolveCreated(opts.config?.created);
  const stats: RequestStats = { requests: 0 };
  const ctx: CallContext = { signal: opts.signal, stats };
  const baseRepo: RepositoryRef = { registry: base.registry, repository: base.repository };
  const baseDisplay = formatReference(base);

  client.declareScopes(base.registry, [repositoryScope(base.repository, 'pull')]);
  if (target) {
    client.declareScopes(target.registry, [repositoryScope(target.repository, 'pull', 'push')]);
  }

  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'kiln-bake-'));
  try {
    // 1. Layers, base and target tags at once.
    const heads = tags.map((tag) => {
      const head = client.headManifest(target!, tag, ctx);
      head.catch(() => undefined); // awaited below
      return head;
    });
    // Both settle before going on: a failed base must not remove the work dir under a layer being written.
    const [builtOr, rootOr] = await Promise.allSettled([
      all(
        opts.layers.map((source, i) => ({ source, i })),
        ({ source, i }) =>
          buildLayer(source, {
            outFile: join(work, `layer-${i}.tar.gz`),
            mtime: opts.mtime,
            owner: opts.owner,
            gzipLevel: opts.gzipLevel,
            signal: opts.signal,
          }),
      ),
      client.resolve(base, ctx),
    ]);
    if (builtOr.status === 'rejected') throw builtOr.reason;
    if (rootOr.status === 'rejected') throw rootOr.reason;
    const built = builtOr.value;
    const root = rootOr.value;
    for (const l of built) {
      log.info(
        `layer ${l.description}: ${shortDigest(l.digest)} (${formatBytes(l.size)} gzip, ${formatBytes(l.uncompressedSize)} tar${l.entries !== undefined ? `, ${l.entries} entries` : ''}; diff_id ${shortDigest(l.diffId)})`,
      );
    }
    const isIndex = root.parsed.kind === 'index';

    // 2. The images to bake.
    const selected: Array<{ entry?: Descriptor; manifest: Promise<Manifest> }> = [];
    if (root.parsed.kind === 'index') {
      const entries = root.parsed.manifests;
      const left: string[] = [];
      for (const d of entries) {
        const name = platformString(d.platform);
        if (!isImageManifestMediaType(d.mediaType) || isAttestation(d)) {
          left.push(`${name} (${isAttestation(d) ? 'an attestation' : d.mediaType})`);
          continue;
        }
        if (opts.platforms && !opts.platforms.some((f) => platformMatches(f, d.platform))) {
          left.push(`${name} (not asked for)`);
          continue;
        }
        selected.push({
          entry: d,
          manifest: client.limit(() => client.getManifest(baseRepo, d.digest, ctx)),
        });
      }
      for (const f of opts.platforms ?? []) {
        if (!entries.some((d) => platformMatches(f, d.platform) && isImageManifestMediaType(d.mediaType))) {
          selected.forEach((s) => s.manifest.catch(() => undefined));
          throw new ConfigurationError(
            `${baseDisplay} has no ${f} image; it has ${entries.map((d) => platformString(d.platform)).join(', ')}`,
          );
        }
      }
      if (selected.length === 0)
        throw new ConfigurationError(`${baseDisplay}: no image manifest to bake in its index`);
      if (left.length > 0) log.info(`${baseDisplay}: left out of the new index: ${left.join(', ')}`);
    } else {
      selected.push({ manifest: Promise.resolve(root) });
    }
    log.info(
      `base ${baseDisplay} is ${root.digest} (${isIndex ? `index; baking ${selected.map((s) => platformString(s.entry?.platform)).join(', ')}` : 'single image'})`,
    );

    const bakes = await all(selected, async ({ entry, manifest: pending }): Promise<Bake> => {
      const manifest = await pending;
      if (manifest.parsed.kind !== 'image') {
        throw new ConfigurationError(`${baseDisplay}@${manifest.digest} is not an image manifest`);
      }
      const parsed = manifest.parsed;
      const baseConfig = parseObject(
        await readSmallBlob(client, baseRepo, parsed.config, ctx),
        `the config of ${baseDisplay}@${manifest.digest}`,
      );
      const platform = entry?.platform ?? configPlatform(baseConfig);
      if (!entry && opts.platforms && !opts.platforms.some((f) => platformMatches(f, platform))) {
        throw new ConfigurationError(
          `${baseDisplay} is a single ${platformString(platform)} image, not ${opts.platforms.join(', ')}`,
        );
      }
      const docker = manifest.mediaType === DOCKER_MANIFEST;
      const layerType = docker ? DOCKER_LAYER_GZIP : OCI_LAYER_GZIP;
      const { config, notes } = applyConfigChanges(
        baseConfig,
        opts.config ?? {},
        built.map((l, i) => ({ diffId: l.diffId, createdBy: createdBy(opts.layers[i]!, l) })),
        created,
      );
      if (notes.clearedCmd !== undefined) {
        log.info(
          `${platformString(platform)}: the base's cmd ${stringifyJson(notes.clearedCmd, 0)} is cleared by the new entrypoint (as a Dockerfile's ENTRYPOINT does); give cmd to keep one`,
        );
      }
      const configBytes = jsonBytes(config);
      const configDescriptor: Descriptor = {
        mediaType: parsed.config.mediaType,
        digest: computeDigest(configBytes),
        size: configBytes.length,
      };
      const m = parseObject(manifest.bytes, `manifest ${baseDisplay}@${manifest.digest}`);
      m.config = descriptorJson(configDescriptor);
      m.layers = [
        ...(Array.isArray(m.layers) ? m.layers : []),
        ...built.map((l) => descriptorJson({ mediaType: layerType, digest: l.digest, size: l.size })),
      ];
      if (!docker) {
        m.annotations = {
          ...(isJsonObject(m.annotations) ? m.annotations : {}),
          [BASE_DIGEST_ANNOTATION]: manifest.digest,
          ...opts.annotations,
        };
      }
      const bytes = jsonBytes(m);
      return {
        platform: platformString(platform),
        ...(entry ? { entry } : {}),
        base: manifest,
        baseLayers: manifestBlobs(parsed).filter((d) => d.digest !== parsed.config.digest),
        config: { descriptor: configDescriptor, bytes: configBytes },
        manifest: { digest: computeDigest(bytes), mediaType: manifest.mediaType, bytes },
      };
    });
    if (opts.annotations && bakes.some((b) => b.manifest.mediaType === DOCKER_MANIFEST)) {
      log.warning(
        'annotations are not written into Docker schema-2 manifests (the base uses Docker media types)',
      );
    }

    // 3. The root: the new index, or the one manifest.
    let rootOut: { digest: string; mediaType: string; bytes: Buffer };
    if (isIndex) {
      const index = parseObject(root.bytes, `index ${baseDisplay}`);
      index.manifests = bakes.map((b) => {
        const e: JsonObject = descriptorJson({
          mediaType: b.manifest.mediaType,
          digest: b.manifest.digest,
          size: b.manifest.bytes.length,
        });
        if (b.entry?.platform) e.platform = b.entry.platform as unknown as JsonObject;
        if (b.entry?.annotations) e.annotations = { ...b.entry.annotations };
        return e;
      });
      if (root.mediaType !== DOCKER_MANIFEST_LIST) {
        index.annotations = {
          ...(isJsonObject(index.annotations) ? index.annotations : {}),
          [BASE_DIGEST_ANNOTATION]: root.digest,
          ...opts.annotations,
        };
      }
      const bytes = jsonBytes(index);
      rootOut = { digest: computeDigest(bytes), mediaType: root.mediaType, bytes };
    } else {
      rootOut = bakes[0]!.manifest;
    }
    const platforms = bakes.map((b) => b.platform);
    log.info(`result: ${rootOut.digest} (${isIndex ? `index of ${platforms.join(', ')}` : platforms[0]})`);

    const result: AppendResult = {
      digest: rootOut.digest,
      mediaType: rootOut.mediaType,
      platforms,
      manifests: bakes.map((b) => ({
        platform: b.platform,
        digest: b.manifest.digest,
        config: b.config.descriptor.digest,
        base: b.base.digest,
      })),
      layers: built.map((l) => ({
        digest: l.digest,
        size: l.size,
        diffId: l.diffId,
        mediaType:
          rootOut.mediaType === DOCKER_MANIFEST || rootOut.mediaType === DOCKER_MANIFEST_LIST
            ? DOCKER_LAYER_GZIP
            : OCI_LAYER_GZIP,
        source: l.description,
      })),
      base: { ref: baseDisplay, digest: root.digest, mediaType: root.mediaType },
      baseLayers: { mounted: 0, present: 0, copied: 0, bytesCopied: 0 },
      bytesUploaded: 0,
      blobsUploaded: 0,
      manifestsPushed: 0,
      requests: 0,
    };

    if (opts.expectDigest !== undefined && rootOut.digest !== opts.expectDigest)
      throw new BakeError(
        `baked ${rootOut.digest}, not the verified ${opts.expectDigest}: a layer source changed between the verified bake and this one; nothing was written`,
        'layer-append',
      );

    // 4. The OCI layout (local, first: it changes nothing remote).
    if (layout) {
      result.ociLayout = await writeLayout(
        client,
        layout,
        baseRepo,
        bakes,
        built,
        rootOut,
        ctx,
        log,
        baseDisplay,
      );
    }

    // 5. The registry target.
    if (target) {
      await pushTarget(client, target, tags, heads, baseRepo, bakes, built, rootOut, result, opts, ctx, log);
    }
    result.requests = stats.requests;
    return result;
  } catch (err) {
    if (opts.signal?.aborted && !(err instanceof CancelledError)) throw new CancelledError();
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The history `created_by` of a layer: no local path in it, so the same content gives the same config. */
function createdBy(source: LayerSource, layer: BuiltLayer): string {
  if ('directory' in source) {
    const dest = `/${normaliseDestination(source.destination)}`;
    return `kiln layer-append directory ${layer.diffId} in ${dest}`;
  }
  return `kiln layer-append tarball ${layer.diffId}`;
}

async function pushTarget(
  client: RegistryClient,
  target: ImageReference,
  tags: string[],
  heads: Array<Promise<{ digest?: string } | undefined>>,
  baseRepo: RepositoryRef,
  bakes: Bake[],
  built: BuiltLayer[],
  root: { digest: string; mediaType: string; bytes: Buffer },
  result: AppendResult,
  opts: AppendLayersOptions,
  ctx: CallContext,
  log: Logger,
): Promise<void> {
  const dst: RepositoryRef = { registry: target.registry, repository: target.repository };
  const display = repositoryPath(dst);

  // Tags: look before writing anything.
  const tagState = await all(
    tags.map((tag, i) => ({ tag, head: heads[i]! })),
    async ({ tag, head: pending }) => {
      const head = await pending;
      let current = head?.digest;
      if (head && current === undefined) current = (await client.getManifest(dst, tag, ctx)).digest;
      return { tag, current };
    },
  );
  const refusals = tagState.filter((t) => t.current !== undefined && t.current !== root.digest);
  if (refusals.length > 0 && !opts.allowOverwrite) {
    throw new CopyRefusedError(
      refusals
        .map(
          (t) =>
            `refusing to overwrite ${display}:${t.tag}: it holds ${t.current}, not ${root.digest} (allow overwriting to replace it)`,
        )
        .join('; '),
      'tag-exists',
      `${display}:${refusals[0]!.tag}`,
    );
  }
  const toTag = tagState.filter((t) => t.current !== root.digest);
  const tagResults = tagState.map((t) => ({
    tag: t.tag,
    action: (t.current === root.digest ? 'unchanged' : 'pushed') as 'pushed' | 'unchanged',
    ...(t.current !== undefined && t.current !== root.digest ? { previousDigest: t.current } : {}),
  }));
  let rootPresent = false;
  if (tags.length === 0)
    rootPresent = (await client.headManifest(dst, root.digest, ctx))?.digest === root.digest;
  if ((tags.length > 0 && toTag.length === 0) || rootPresent) {
    log.info(
      `${display}: already holds ${root.digest}${tags.length ? ` under ${tags.join(', ')}` : ''}; nothing written`,
    );
    result.target = { repository: display, action: 'unchanged', tags: tagResults };
    return;
  }

  // Content: base layers, new layers, configs.
  const sameRepository = baseRepo.registry === dst.registry && baseRepo.repository === dst.repository;
  const sameRegistry = baseRepo.registry === dst.registry;
  const done = new Map<string, Promise<void>>();
  const baseBlobs = new Map<string, Descriptor>();
  for (const b of bakes) for (const d of b.baseLayers) baseBlobs.set(d.digest, d);
  if (!sameRegistry && baseBlobs.size > 0) {
    const bytes = [...baseBlobs.values()].reduce((n, d) => n + d.size, 0);
    log.info(
      `${display}: the base is on another registry (${baseRepo.registry}), so its layers cannot be mounted: the ones ${dst.registry} lacks are streamed registry → registry (up to ${baseBlobs.size} blobs, ${formatBytes(bytes)})`,
    );
  }
  const copyBase = async (d: Descriptor, session?: string): Promise<void> => {
    await client.limit(() => client.copyBlob(baseRepo, dst, d, { ...ctx, ...(session ? { session } : {}) }));
    result.baseLayers.copied++;
    result.baseLayers.bytesCopied += d.size;
    result.bytesUploaded += d.size;
    result.blobsUploaded++;
    log.info(
      `${display}: base layer ${shortDigest(d.digest)} copied from ${repositoryPath(baseRepo)} (${formatBytes(d.size)})`,
    );
  };
  const placeBase = async (d: Descriptor): Promise<void> => {
    if (sameRepository) {
      result.baseLayers.present++;
      return;
    }
    if (sameRegistry) {
      const mount = await client.limitMeta(() => client.mountBlob(dst, d.digest, baseRepo.repository, ctx));
      if (mount.mounted) {
        result.baseLayers.mounted++;
        return;
      }
      if (mount.session) {
        log.info(
          `${display}: base layer ${shortDigest(d.digest)} could not be mounted (${mount.reason}); copying it`,
        );
        return copyBase(d, mount.session);
      }
      log.debug(`${display}: ${shortDigest(d.digest)} not mounted (${mount.reason})`);
    }
    if ((await client.limitMeta(() => client.blobExists(dst, d.digest, ctx))) !== undefined) {
      result.baseLayers.present++;
      return;
    }
    await copyBase(d);
  };
  const upload = async (
    blob: { digest: string; size: number },
    source: Buffer | (() => Promise<Readable>),
  ) => {
    if ((await client.limitMeta(() => client.blobExists(dst, blob.digest, ctx))) !== undefined) return;
    await client.limit(() => client.uploadBlob(dst, blob, source, ctx));
    result.bytesUploaded += blob.size;
    result.blobsUploaded++;
  };
  await all(
    [
      ...[...baseBlobs.values()].map((d) => () => memo(done, d.digest, () => placeBase(d))),
      ...built.map((l) => () => memo(done, l.digest, () => upload(l, async () => createReadStream(l.path)))),
      ...bakes.map(
        (b) => () =>
          memo(done, b.config.descriptor.digest, () => upload(b.config.descriptor, b.config.bytes)),
      ),
    ],
    (fn) => fn(),
  );

  // Per-platform manifests (an index's children), by digest.
  if (bakes.length > 0 && root.digest !== bakes[0]!.manifest.digest) {
    await all(bakes, async (b) => {
      await client.limit(() => client.putManifest(dst, b.manifest.digest, b.manifest, ctx));
      result.manifestsPushed++;
    });
  }

  // Tags last.
  const references = toTag.length > 0 ? toTag.map((t) => t.tag) : [root.digest];
  await all(references, async (reference) => {
    const put = await client.putManifest(dst, reference, root, ctx);
    result.manifestsPushed++;
    const stored = put.registryDigest ?? (await client.headManifest(dst, reference, ctx))?.digest;
    if (stored !== undefined && stored !== root.digest) {
      throw new RegistryError(`${display}:${reference} now holds ${stored}, expected ${root.digest}`, {
        kind: 'digest-mismatch',
        registry: dst.registry,
        repository: dst.repository,
        operation: `PUT manifest ${reference}`,
      });
    }
  });
  const b = result.baseLayers;
  log.info(
    `${display}: pushed ${root.digest}${tags.length ? ` as ${tags.join(', ')}` : ''} (base layers: ${b.mounted} mounted, ${b.present} present, ${b.copied} copied; ${result.blobsUploaded} blobs uploaded, ${formatBytes(result.bytesUploaded)})`,
  );
  result.target = { repository: display, action: 'pushed', tags: tagResults };
}

async function writeLayout(
  client: RegistryClient,
  layout: { dir: string; tag: string },
  baseRepo: RepositoryRef,
  bakes: Bake[],
  built: BuiltLayer[],
  root: { digest: string; mediaType: string; bytes: Buffer },
  ctx: CallContext,
  log: Logger,
  baseDisplay: string,
): Promise<NonNullable<AppendResult['ociLayout']>> {
  const writer = await OciLayoutWriter.open(layout.dir);
  let written = 0;
  let downloaded = 0;
  const count = (wrote: boolean) => {
    if (wrote) written++;
  };
  const baseBlobs = new Map<string, Descriptor>();
  for (const b of bakes) for (const d of b.baseLayers) baseBlobs.set(d.digest, d);
  const missing: Descriptor[] = [];
  for (const d of baseBlobs.values()) if (!(await writer.has(d))) missing.push(d);
  if (missing.length > 0) {
    log.info(
      `OCI layout ${layout.dir}: a layout holds every blob, so ${missing.length} base layers of ${baseDisplay} (${formatBytes(missing.reduce((n, d) => n + d.size, 0))}) are downloaded`,
    );
  }
  await all(missing, async (d) => {
    count(
      await client.limit(() =>
        writer.writeBlob(d, async () => (await client.openBlob(baseRepo, d.digest, ctx)).stream, ctx.signal),
      ),
    );
    downloaded += d.size;
  });
  for (const l of built) count(await writer.writeBlob(l, { file: l.path }, ctx.signal));
  for (const b of bakes) {
    count(await writer.writeBlob(b.config.descriptor, b.config.bytes, ctx.signal));
    count(
      await writer.writeBlob(
        { digest: b.manifest.digest, size: b.manifest.bytes.length },
        b.manifest.bytes,
        ctx.signal,
      ),
    );
  }
  count(await writer.writeBlob({ digest: root.digest, size: root.bytes.length }, root.bytes, ctx.signal));
  await writer.tag({ mediaType: root.mediaType, digest: root.digest, size: root.bytes.length }, layout.tag);
  log.info(`OCI layout ${layout.dir}: ${root.digest} named '${layout.tag}' (${written} blobs written)`);
  return { dir: layout.dir, tag: layout.tag, baseBytesDownloaded: downloaded, blobsWritten: written };
}

// What a caller of appendLayers needs, from one module.
export type { BuiltLayer, LayerSource } from './layer.js';
export type { ImageConfigChanges } from './config.js';
export { sourceDateEpoch, type TarOwner } from './tar.js';
