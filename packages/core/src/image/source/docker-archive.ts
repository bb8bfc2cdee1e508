/**
 * `docker save` archives (docker-archive: in skopeo): a `manifest.json` listing images as
 * `{ Config, RepoTags, Layers }`, the config JSON, and one uncompressed (sometimes gzip) tar per layer, at
 * `<id>/layer.tar` (docker ≤ 24, often a symlink to a shared copy) or `<hex>.tar` (skopeo, buildah).
 *
 * Such an archive has no registry manifest, so one is synthesised: Docker v2 schema 2, the config as
 * `application/vnd.docker.container.image.v1+json`, each layer as stored (`…rootfs.diff.tar`, or `….tar.gzip`
 * when the file starts with the gzip magic), digests computed by hashing the files once. The bytes depend only
 * on the archive, so the same archive always gives the same digest.
 *
 * Docker 25+ writes an OCI image layout (`oci-layout`, `index.json`, `blobs/…`) with `manifest.json` added; such
 * archives are read as OCI layouts, selecting by RepoTags, `@N` or the containerd image-name annotation.
 */
import { ConfigurationError } from '../../errors.js';
import { sniffCompression } from './compression.js';
import { effectiveTag, repositoryName, tryParseImageReference } from '../reference.js';
import type { Logger } from '../../platform/types.js';
import { BlobDigestMismatchError, digestOf, digestStream, parseDigest, verified } from './digest.js';
import { parseJson, parseManifest } from './manifest.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  MAX_MANIFEST_BYTES,
  MAX_METADATA_BYTES,
} from './media-types.js';
import {
  OciImageSource,
  REF_NAME_ANNOTATION,
  blobPath,
  entryName,
  listNames,
  readOciLayout,
  selectByRefName,
  type OciLayoutIndex,
} from './oci.js';
import { bufferStream, type FileStore } from './store.js';
import type { BlobDescriptor, ImageSource } from './types.js';

/** The containerd annotation docker 25+ puts on index.json entries: the full image name. */
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** One element of `manifest.json`. */
export interface DockerArchiveItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** `name:tag` in docker's canonical form (`app:1` → `docker.io/library/app:1`), or undefined when invalid. */
function canonicalTag(tag: string): string | undefined {
  const ref = tryParseImageReference(tag);
  if (!ref || ref.digest !== undefined) return undefined;
  return `${repositoryName(ref)}:${effectiveTag(ref)}`;
}

/** Parses `@N` (an index into manifest.json); undefined when `ref` is not of that form. */
function sourceIndex(ref: string): number | undefined {
  const m = /^@(\d+)$/.exec(ref);
  return m ? Number(m[1]) : undefined;
}

/** Reads and validates manifest.json; undefined when the archive has none. */
async function readItems(store: FileStore, where: string): Promise<DockerArchiveItem[] | undefined> {
  const bytes = await store.read('manifest.json', MAX_METADATA_BYTES);
  if (bytes === undefined) return undefined;
  const doc = parseJson(bytes, `'manifest.json' in ${where}`);
  if (!Array.isArray(doc)) throw new ConfigurationError(`'manifest.json' in ${where} is not a JSON array`);
  return doc.map((item: unknown, i) => {
    const it = item as Partial<Record<keyof DockerArchiveItem, unknown>> | null;
    const ok =
      typeof it === 'object' &&
      it !== null &&
      typeof it.Config === 'string' &&
      Array.isArray(it.Layers) &&
      it.Layers.every((l) => typeof l === 'string') &&
      (it.RepoTags === undefined ||
        it.RepoTags === null ||
        (Array.isArray(it.RepoTags) && it.RepoTags.every((t) => typeof t === 'string')));
    if (!ok) {
      throw new ConfigurationError(
        `'manifest.json' in ${where}: item @${i} needs 'Config' and 'Layers' (strings)`,
      );
    }
    return {
      Config: it.Config as string,
      Layers: it.Layers as string[],
      RepoTags: (it.RepoTags as string[] | null) ?? [],
    };
  });
}

/** `'app:1' (@0), '@1'` for messages. */
function describeItems(items: DockerArchiveItem[]): string {
  return listNames(
    items.flatMap((it, i) => (it.RepoTags.length > 0 ? it.RepoTags.map((t) => `${t} (@${i})`) : [`@${i}`])),
  );
}

/** Picks the manifest.json item `ref` names (`name:tag` or `@N`), or the only one. */
function selectItem(items: DockerArchiveItem[], ref: string | undefined, where: string): DockerArchiveItem {
  if (items.length === 0) throw new ConfigurationError(`${where} holds no image: its manifest.json is empty`);
  if (ref === undefined) {
    if (items.length === 1) return items[0]!;
    throw new ConfigurationError(
      `${where} holds ${items.length} images; name the one to use (…:<name:tag> or …:@<index>); available: ${describeItems(items)}`,
    );
  }
  const n = sourceIndex(ref);
  if (n !== undefined) {
    const item = items[n];
    if (!item) {
      throw new ConfigurationError(
        `${where} has no image @${n}: it holds ${items.length} (@0 to @${items.length - 1})`,
      );
    }
    return item;
  }
  const wanted = canonicalTag(ref);
  if (wanted === undefined) {
    throw new ConfigurationError(
      `'${ref}' is not a valid image name for ${where}: expected 'name:tag' or '@<index>'`,
    );
  }
  const item = items.find((it) => it.RepoTags.some((t) => canonicalTag(t) === wanted));
  if (!item)
    throw new ConfigurationError(`no image tagged '${ref}' in ${where}; available: ${describeItems(items)}`);
  return item;
}

/** What a prepared docker archive serves, by digest. */
interface Prepared {
  manifest: Buffer;
  digest: string;
  layers: Map<string, { path: string; size: number }>;
}

/** An image of a classic docker archive, with a synthesised Docker v2 schema 2 manifest. */
export class DockerArchiveSource implements ImageSource {
  readonly kind = 'docker-archive' as const;
  private readonly configDigest: string;
  private prepared?: Promise<Prepared>;
  private closed = false;

  constructor(
    private readonly store: FileStore,
    private readonly item: DockerArchiveItem,
    private readonly config: Buffer,
    private readonly diffIds: string[],
    private readonly label: string,
    private readonly logger?: Logger,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.configDigest = digestOf(config);
  }

  describe(): string {
    return this.label;
  }

  /** Hashes every layer file once (streaming) and builds the manifest; memoised. */
  private prepare(): Promise<Prepared> {
    if (this.closed) throw new Error(`internal error: ${this.label} was used after close()`);
    this.prepared ??= this.build();
    return this.prepared;
  }

  private async build(): Promise<Prepared> {
    const started = Date.now();
    const byPath = new Map<string, BlobDescriptor>();
    const layers = new Map<string, { path: string; size: number }>();
    const descriptors: BlobDescriptor[] = [];
    for (const [i, path] of this.item.Layers.entries()) {
      let d = byPath.get(path);
      if (!d) {
        const opened = await this.store.open(path);
        if (!opened) {
          throw new ConfigurationError(
            `layer '${path}' listed in manifest.json is missing from ${this.label}`,
          );
        }
        const { digest, size, head } = await digestStream(opened.stream);
        d = { mediaType: layerMediaType(head, path, this.label), digest, size };
        if (d.mediaType === DOCKER_LAYER && digest !== this.diffIds[i]) {
          // An uncompressed layer's digest is its DiffID: a difference means the archive is corrupt.
          throw new BlobDigestMismatchError(this.diffIds[i]!, digest, `${this.label} (layer '${path}')`);
        }
        byPath.set(path, d);
        layers.set(digest, { path, size });
      }
      descriptors.push(d);
    }
    // Key order as docker and containers/image write it: mediaType, size, digest.
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG, size: this.config.length, digest: this.configDigest },
        layers: descriptors.map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest })),
      }),
    );
    const digest = digestOf(manifest);
    this.logger?.debug(
      `${this.label}: hashed ${layers.size} layer(s) in ${Date.now() - started} ms; manifest ${digest}`,
    );
    return { manifest, digest, layers };
  }

  async rootManifest(): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
    const p = await this.prepare();
    return { bytes: p.manifest, digest: p.digest, mediaType: DOCKER_MANIFEST };
  }

  async manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }> {
    const p = await this.prepare();
    if (digest !== p.digest) {
      throw new ConfigurationError(
        `manifest ${digest} not found in ${this.label}: a docker archive image has one manifest, ${p.digest}`,
      );
    }
    return { bytes: p.manifest, mediaType: DOCKER_MANIFEST };
  }

  async openBlob(digest: string): Promise<{ stream: NodeJS.ReadableStream; size: number }> {
    parseDigest(digest, this.label);
    const p = await this.prepare();
    if (digest === this.configDigest) {
      return {
        stream: verified(bufferStream(this.config), digest, this.config.length, this.label),
        size: this.config.length,
      };
    }
    if (digest === p.digest) {
      return {
        stream: verified(bufferStream(p.manifest), digest, p.manifest.length, this.label),
        size: p.manifest.length,
      };
    }
    const layer = p.layers.get(digest);
    if (!layer) throw new ConfigurationError(`blob ${digest} not found in ${this.label}`);
    const opened = await this.store.open(layer.path);
    if (!opened) throw new ConfigurationError(`layer '${layer.path}' disappeared from ${this.label}`);
    if (opened.size !== layer.size) {
      opened.stream.destroy();
      throw new BlobDigestMismatchError(digest, 'unknown', this.label, layer.size, opened.size);
    }
    return { stream: verified(opened.stream, digest, layer.size, this.label), size: layer.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose?.();
  }
}

/** The media type of a stored layer, from its first bytes. */
function layerMediaType(head: Buffer, path: string, where: string): string {
  const compression = sniffCompression(head);
  if (compression === 'gzip') return DOCKER_LAYER_GZIP;
  if (compression) {
    throw new ConfigurationError(
      `layer '${path}' in ${where} is ${compression}-compressed; a docker archive layer must be a tar or a gzip tar`,
    );
  }
  return DOCKER_LAYER;
}

/**
 * Opens an image of a docker archive whose files `store` reads. `ref` is `name:tag`, `@N` or undefined (the only
 * image). `location` is the archive path, for messages.
 */
export async function openDockerArchive(
  store: FileStore,
  location: string,
  ref: string | undefined,
  opts: { logger?: Logger; onClose?: () => Promise<void> } = {},
): Promise<ImageSource> {
  const where = `docker archive '${location}'`;
  const items = await readItems(store, where);
  if (items === undefined) {
    if (await store.has('repositories')) {
      throw new ConfigurationError(
        `${where} is in the pre-1.10 'docker save' format (a 'repositories' file, no 'manifest.json'), which is not supported`,
      );
    }
    if (await store.has('oci-layout')) {
      throw new ConfigurationError(
        `'${location}' is an OCI archive, not a docker archive (it has no 'manifest.json'); use 'oci-archive:${location}'`,
      );
    }
    throw new ConfigurationError(`'${location}' is not a docker archive: it has no 'manifest.json'`);
  }
  if ((await store.has('oci-layout')) && (await store.has('index.json'))) {
    const layout = await readOciLayout(store, where);
    const root = await selectDockerOci(store, layout, items, ref, where);
    const name =
      ref ?? root.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? root.annotations?.[REF_NAME_ANNOTATION];
    opts.logger?.debug(`${where} is an OCI layout (docker 25+); selected ${root.digest}`);
    return new OciImageSource(
      'docker-archive',
      store,
      root,
      `docker-archive:${location}${name ? `:${name}` : ''}`,
      opts.logger,
      opts.onClose,
    );
  }
  const item = selectItem(items, ref, where);
  const config = await store.read(item.Config, MAX_METADATA_BYTES);
  if (config === undefined) {
    throw new ConfigurationError(`config '${item.Config}' listed in manifest.json is missing from ${where}`);
  }
  const parsed = parseJson(config, `config '${item.Config}' in ${where}`) as {
    rootfs?: { diff_ids?: unknown };
  } | null;
  const diffIds = parsed?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string')) {
    throw new ConfigurationError(`config '${item.Config}' in ${where} has no rootfs.diff_ids`);
  }
  if (diffIds.length !== item.Layers.length) {
    throw new ConfigurationError(
      `${where} is inconsistent: manifest.json lists ${item.Layers.length} layer(s) but the config has ${diffIds.length} diff_ids`,
    );
  }
  const name = ref ?? item.RepoTags[0];
  return new DockerArchiveSource(
    store,
    item,
    config,
    diffIds as string[],
    `docker-archive:${location}${name ? `:${name}` : ''}`,
    opts.logger,
    opts.onClose,
  );
}

/** The config digest of an OCI manifest or index entry (an index matches when any child has that config). */
async function entryHasConfig(
  store: FileStore,
  entry: BlobDescriptor,
  config: string,
  where: string,
): Promise<boolean> {
  const read = async (d: BlobDescriptor) => {
    const bytes = await store.read(blobPath(d.digest, where), MAX_MANIFEST_BYTES);
    return bytes === undefined
      ? undefined
      : parseManifest(bytes, d.mediaType, `manifest ${d.digest} in ${where}`);
  };
  const top = await read(entry);
  if (!top) return false;
  if (top.kind === 'manifest') return top.config.digest === config;
  for (const child of top.manifests) {
    const m = await read(child);
    if (m?.kind === 'manifest' && m.config.digest === config) return true;
  }
  return false;
}

/** Selects the index.json entry of a docker 25+ archive: by `@N`, RepoTags, containerd name or ref name. */
async function selectDockerOci(
  store: FileStore,
  layout: OciLayoutIndex,
  items: DockerArchiveItem[],
  ref: string | undefined,
  where: string,
): Promise<BlobDescriptor> {
  const entries = layout.manifests;
  const names = (): string =>
    items.length > 0
      ? describeItems(items)
      : listNames(entries.map((e) => e.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? entryName(e)));
  if (ref === undefined) {
    if (entries.length === 1) return entries[0]!;
    if (entries.length === 0)
      throw new ConfigurationError(`${where} holds no image: its index.json lists no manifests`);
    throw new ConfigurationError(
      `${where} holds ${entries.length} images; name the one to use (…:<name:tag> or …:@<index>); available: ${names()}`,
    );
  }
  const byConfig = async (item: DockerArchiveItem): Promise<BlobDescriptor> => {
    const config = await store.read(item.Config, MAX_METADATA_BYTES);
    if (config === undefined)
      throw new ConfigurationError(`config '${item.Config}' is missing from ${where}`);
    const digest = digestOf(config);
    for (const e of entries) if (await entryHasConfig(store, e, digest, where)) return e;
    throw new ConfigurationError(
      `${where}: no index.json entry has the config ${digest} of '${item.Config}'`,
    );
  };
  const n = sourceIndex(ref);
  if (n !== undefined) {
    if (items.length > 0) return byConfig(selectItem(items, ref, where));
    const entry = entries[n];
    if (!entry) throw new ConfigurationError(`${where} has no image @${n}: it holds ${entries.length}`);
    return entry;
  }
  const wanted = canonicalTag(ref);
  if (wanted !== undefined) {
    const named = entries.find((e) => {
      const full = e.annotations?.[CONTAINERD_NAME_ANNOTATION];
      return full !== undefined && canonicalTag(full) === wanted;
    });
    if (named) return named;
    const item = items.find((it) => it.RepoTags.some((t) => canonicalTag(t) === wanted));
    if (item) return byConfig(item);
  }
  try {
    return selectByRefName(layout, ref, where);
  } catch {
    throw new ConfigurationError(`no image tagged '${ref}' in ${where}; available: ${names()}`);
  }
}
