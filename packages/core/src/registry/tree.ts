/**
 * Walking an image: an index (or Docker manifest list) names child manifests, usually one per platform, and
 * possibly nested indexes; an image manifest names a config and layers. {@link ImageTreeLoader} fetches each
 * manifest once (by digest, so every child is verified), in parallel, and only when asked: a same-repository
 * retag never needs the children.
 */
import type { RegistryClient } from './client.js';
import { manifestBlobs, platformString, type Manifest } from './manifest.js';
import type { CallContext } from './transport.js';
import type { Descriptor, ImagePlatform, RepositoryRef } from './types.js';

/** One manifest and everything below it. */
export interface ImageNode {
  manifest: Manifest;
  /** The entry that named this manifest in its parent index (platform, annotations); absent for the root. */
  descriptor?: Descriptor;
  /** Child manifests of an index (empty for an image manifest). */
  children: ImageNode[];
  /** Config and layers of an image manifest (non-distributable layers excluded; empty for an index). */
  blobs: Descriptor[];
}

/** Fetches a manifest by digest (verified): from a registry repository, or from local files. */
export type ManifestFetcher = (digest: string) => Promise<Manifest>;

/** Fetches manifest trees, each manifest once. */
export class ImageTreeLoader {
  private readonly trees = new Map<string, Promise<ImageNode>>();
  private readonly fetched = new Map<string, Promise<Manifest>>();

  constructor(private readonly fetchManifest: ManifestFetcher) {}

  /** The tree below a manifest already fetched. */
  load(manifest: Manifest, descriptor?: Descriptor): Promise<ImageNode> {
    let p = this.trees.get(manifest.digest);
    if (!p) {
      p = (async () => {
        const parsed = manifest.parsed;
        const children =
          parsed.kind === 'index'
            ? await Promise.all(parsed.manifests.map((d) => this.loadDescriptor(d)))
            : [];
        return { manifest, children, blobs: manifestBlobs(parsed), ...(descriptor ? { descriptor } : {}) };
      })();
      this.trees.set(manifest.digest, p);
    }
    return p;
  }

  /** Fetches the manifest a descriptor names (by digest) and the tree below it. */
  async loadDescriptor(descriptor: Descriptor): Promise<ImageNode> {
    return this.load(await this.fetch(descriptor.digest), descriptor);
  }

  private fetch(digest: string): Promise<Manifest> {
    let p = this.fetched.get(digest);
    if (!p) {
      p = this.fetchManifest(digest);
      this.fetched.set(digest, p);
    }
    return p;
  }
}

/** The whole tree of the image `reference` (tag or digest) names in `repo`. */
export async function loadImageTree(
  client: RegistryClient,
  repo: RepositoryRef,
  reference: string,
  ctx: CallContext = {},
): Promise<ImageNode> {
  const loader = new ImageTreeLoader((digest) => client.limit(() => client.getManifest(repo, digest, ctx)));
  return loader.load(await client.getManifest(repo, reference, ctx));
}

/** Every image manifest in a tree with its platform ('linux/amd64'; 'unknown' for a single image). */
export function imagesOf(
  node: ImageNode,
): Array<{ platform: string; imagePlatform?: ImagePlatform; digest: string; blobs: Descriptor[] }> {
  if (node.manifest.parsed.kind === 'image') {
    const p = node.descriptor?.platform;
    return [
      {
        platform: platformString(p),
        ...(p ? { imagePlatform: p } : {}),
        digest: node.manifest.digest,
        blobs: node.blobs,
      },
    ];
  }
  return node.children.flatMap(imagesOf);
}
