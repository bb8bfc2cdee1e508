/**
 * Walks an image in push order: for an image manifest its config and layers, then the manifest; for an index
 * every child (recursively, nested indexes included), then the index. So children always come before the
 * manifests that reference them, which is the order a registry accepts them in. Each blob and manifest is
 * yielded once, even when several manifests share it.
 */
import { ConfigurationError } from '../../errors.js';
import { BlobDigestMismatchError } from './digest.js';
import { parseManifest } from './manifest.js';
import type { BlobDescriptor, ImageSource, ImageWalkItem } from './types.js';

/** Indexes nested deeper than this are refused (real images nest one level, rarely two). */
const MAX_DEPTH = 8;

/**
 * Yields every blob and manifest of the image rooted at `digest` (default: the source's root manifest),
 * children before parents. Manifests are read (and verified) as the walk reaches them; blobs are only described,
 * to be opened with `source.openBlob`.
 */
export async function* walkImage(
  source: ImageSource,
  digest?: string,
): AsyncGenerator<ImageWalkItem, void, undefined> {
  const start =
    digest === undefined ? await source.rootManifest() : { ...(await source.manifest(digest)), digest };
  const descriptor: BlobDescriptor = {
    mediaType: start.mediaType,
    digest: start.digest,
    size: start.bytes.length,
  };
  yield* visit(source, descriptor, start.bytes, undefined, new Set<string>(), 0);
}

async function* visit(
  source: ImageSource,
  descriptor: BlobDescriptor,
  bytes: Buffer,
  parent: string | undefined,
  seen: Set<string>,
  depth: number,
): AsyncGenerator<ImageWalkItem, void, undefined> {
  seen.add(descriptor.digest);
  const where = `manifest ${descriptor.digest} of ${source.describe()}`;
  const parsed = parseManifest(bytes, descriptor.mediaType, where);
  if (parsed.kind === 'index') {
    if (depth >= MAX_DEPTH)
      throw new ConfigurationError(`${where}: indexes nested more than ${MAX_DEPTH} deep`);
    for (const child of parsed.manifests) {
      if (seen.has(child.digest)) continue;
      const m = await source.manifest(child.digest);
      if (m.bytes.length !== child.size) {
        throw new BlobDigestMismatchError(
          child.digest,
          'unknown',
          source.describe(),
          child.size,
          m.bytes.length,
        );
      }
      yield* visit(source, child, m.bytes, descriptor.digest, seen, depth + 1);
    }
  } else {
    const blobs: Array<['config' | 'layer', BlobDescriptor]> = [
      ['config', parsed.config],
      ...parsed.layers.map((l): ['layer', BlobDescriptor] => ['layer', l]),
    ];
    for (const [role, d] of blobs) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      yield { type: 'blob', role, descriptor: d, parent: descriptor.digest };
    }
  }
  yield { type: 'manifest', role: parsed.kind, descriptor, bytes, parent };
}
