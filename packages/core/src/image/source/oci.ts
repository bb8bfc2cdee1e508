/**
 * OCI image layouts (opencontainers/image-spec `image-layout.md`): an `oci-layout` file
 * (`{"imageLayoutVersion": "1.0.0"}`), an `index.json` image index whose entries name images with the
 * `org.opencontainers.image.ref.name` annotation, and blobs under `blobs/<alg>/<hex>`. The same code reads a
 * layout from a directory (`oci:`), from a tar archive (`oci-archive:`) and from a docker 25+ `docker save`
 * archive, which is an OCI layout with a `manifest.json` added.
 */
import { ConfigurationError } from '../../errors.js';
import type { Logger } from '../../platform/types.js';
import { BlobDigestMismatchError, digestOf, parseDigest, verified } from './digest.js';
import { parseDescriptor, parseJson, parseManifest } from './manifest.js';
import {
  MAX_MANIFEST_BYTES,
  MAX_METADATA_BYTES,
  isImageManifestMediaType,
  isIndexMediaType,
} from './media-types.js';
import type { FileStore } from './store.js';
import type { BlobDescriptor, ImageSource, ImageSourceKind } from './types.js';

/** The annotation that names an image in `index.json` (skopeo's `oci:<dir>:<name>`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** The parsed top of a layout. */
export interface OciLayoutIndex {
  /** The entries of `index.json`. */
  manifests: BlobDescriptor[];
}

/** `blobs/<alg>/<hex>` for a validated digest. */
export function blobPath(digest: string, context: string): string {
  const { algorithm, hex } = parseDigest(digest, context);
  return `blobs/${algorithm}/${hex}`;
}

/** Reads and validates `oci-layout` and `index.json`. `where` names the layout in messages. */
export async function readOciLayout(store: FileStore, where: string): Promise<OciLayoutIndex> {
  const marker = await store.read('oci-layout', 64 * 1024);
  if (marker === undefined) {
    throw new ConfigurationError(`${where} is not an OCI image layout: it has no 'oci-layout' file`);
  }
  const layout = parseJson(marker, `'oci-layout' in ${where}`) as { imageLayoutVersion?: unknown } | null;
  const version = typeof layout === 'object' && layout !== null ? layout.imageLayoutVersion : undefined;
  if (version !== '1.0.0') {
    throw new ConfigurationError(
      `${where} is not a supported OCI image layout: 'oci-layout' has imageLayoutVersion ${JSON.stringify(version)}; expected "1.0.0"`,
    );
  }
  const indexBytes = await store.read('index.json', MAX_METADATA_BYTES);
  if (indexBytes === undefined) {
    throw new ConfigurationError(`${where} is not a complete OCI image layout: it has no 'index.json'`);
  }
  const index = parseJson(indexBytes, `'index.json' in ${where}`) as { manifests?: unknown } | null;
  if (typeof index !== 'object' || index === null || !Array.isArray(index.manifests)) {
    throw new ConfigurationError(`'index.json' in ${where} is not an image index (no 'manifests' array)`);
  }
  return {
    manifests: index.manifests.map((d, i) => parseDescriptor(d, `'index.json' in ${where}, manifests[${i}]`)),
  };
}

/** How an entry of index.json is named in messages: its ref name, else its digest. */
export function entryName(d: BlobDescriptor): string {
  return d.annotations?.[REF_NAME_ANNOTATION] ?? `@${d.digest}`;
}

/** A quoted, comma-separated list for messages, shortened past 20 items. */
export function listNames(names: string[]): string {
  const shown = names.slice(0, 20).map((n) => `'${n}'`);
  return names.length > 20
    ? `${shown.join(', ')} and ${names.length - 20} more`
    : shown.join(', ') || '(none)';
}

/**
 * Picks the image `ref` names in a layout: the entry whose `org.opencontainers.image.ref.name` is `ref`, the
 * entry with digest `ref` when it is `@sha256:…`, or the only entry when `ref` is undefined. Errors list what is
 * available.
 */
export function selectByRefName(
  layout: OciLayoutIndex,
  ref: string | undefined,
  where: string,
): BlobDescriptor {
  const entries = layout.manifests;
  const available = (): string => listNames(entries.map(entryName));
  if (entries.length === 0)
    throw new ConfigurationError(`${where} holds no image: its index.json lists no manifests`);
  if (ref === undefined) {
    if (entries.length === 1) return entries[0]!;
    throw new ConfigurationError(
      `${where} holds ${entries.length} images; name the one to use (…:<name>); available: ${available()}`,
    );
  }
  const byDigest = ref.startsWith('@') ? ref.slice(1) : undefined;
  const matches = entries.filter((d) =>
    byDigest !== undefined ? d.digest === byDigest : d.annotations?.[REF_NAME_ANNOTATION] === ref,
  );
  if (matches.length === 0) {
    throw new ConfigurationError(`no image named '${ref}' in ${where}; available: ${available()}`);
  }
  const distinct = new Set(matches.map((d) => d.digest));
  if (distinct.size > 1) {
    throw new ConfigurationError(`'${ref}' names ${distinct.size} different images in ${where}`);
  }
  return matches[0]!;
}

/** An image in an OCI layout (directory or archive), rooted at one descriptor of its index.json. */
export class OciImageSource implements ImageSource {
  /** Media types and sizes learnt from the descriptors read so far, by digest. */
  private readonly known = new Map<string, { mediaType: string; size: number }>();
  private closed = false;

  constructor(
    readonly kind: ImageSourceKind,
    private readonly store: FileStore,
    private readonly root: BlobDescriptor,
    private readonly label: string,
    private readonly logger?: Logger,
    private readonly onClose?: () => Promise<void>,
  ) {
    if (!isIndexMediaType(root.mediaType) && !isImageManifestMediaType(root.mediaType)) {
      throw new ConfigurationError(
        `${label}: the selected entry ${root.digest} has media type '${root.mediaType}', not an image manifest or index`,
      );
    }
    this.known.set(root.digest, { mediaType: root.mediaType, size: root.size });
  }

  describe(): string {
    return this.label;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`internal error: ${this.label} was used after close()`);
  }

  async rootManifest(): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
    const { bytes, mediaType } = await this.manifest(this.root.digest);
    return { bytes, digest: this.root.digest, mediaType };
  }

  async manifest(digest: string): Promise<{ bytes: Buffer; mediaType: string }> {
    this.checkOpen();
    const path = blobPath(digest, this.label);
    const bytes = await this.store.read(path, MAX_MANIFEST_BYTES);
    if (bytes === undefined)
      throw new ConfigurationError(`manifest ${digest} not found in ${this.label} (no ${path})`);
    const actual = digestOf(bytes, parseDigest(digest, this.label).algorithm);
    const known = this.known.get(digest);
    if (actual !== digest || (known !== undefined && known.size !== bytes.length)) {
      throw new BlobDigestMismatchError(digest, actual, this.label, known?.size, bytes.length);
    }
    const parsed = parseManifest(bytes, known?.mediaType, `manifest ${digest} in ${this.label}`);
    const children = parsed.kind === 'index' ? parsed.manifests : [parsed.config, ...parsed.layers];
    for (const d of children) {
      if (!this.known.has(d.digest)) this.known.set(d.digest, { mediaType: d.mediaType, size: d.size });
    }
    this.logger?.debug(
      `${this.label}: read ${parsed.kind} ${digest} (${bytes.length} bytes, ${parsed.mediaType})`,
    );
    return { bytes, mediaType: parsed.mediaType };
  }

  async openBlob(digest: string): Promise<{ stream: NodeJS.ReadableStream; size: number }> {
    this.checkOpen();
    const path = blobPath(digest, this.label);
    const opened = await this.store.open(path);
    if (opened === undefined)
      throw new ConfigurationError(`blob ${digest} not found in ${this.label} (no ${path})`);
    const expected = this.known.get(digest)?.size;
    if (expected !== undefined && expected !== opened.size) {
      opened.stream.destroy();
      throw new BlobDigestMismatchError(digest, 'unknown', this.label, expected, opened.size);
    }
    return { stream: verified(opened.stream, digest, opened.size, this.label), size: opened.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.onClose?.();
  }
}
