/**
 * Small test images pushed into a registry: each a fresh OCI layout (test/sim/registry/oci-layout.ts) with its own
 * seed, so every one has its own digest, pushed with Kiln's core under `<registry>/<repository>:<tag>`.
 */
import { join } from 'node:path';
import { parseImageReference } from '../../../packages/core/src/image/reference.js';
import { openImageSource } from '../../../packages/core/src/image/source/index.js';
import {
  localImageSource,
  pushImage,
  type RegistryClient,
} from '../../../packages/core/src/registry/index.js';
import { writeOciLayout } from './oci-layout.js';

/** Pushes one image per tag (`{ '1': 'seed-1' }` → `repo:1`) and answers their digests, in order. */
export async function pushTestImages(
  client: RegistryClient,
  repository: string,
  tags: Record<string, string>,
  o: { workDir: string; randomBytes?: number },
): Promise<string[]> {
  const digests: string[] = [];
  for (const [tag, seed] of Object.entries(tags)) {
    const layout = await writeOciLayout(join(o.workDir, `layout-${seed}`), {
      seed,
      randomBytes: o.randomBytes ?? 500,
    });
    const image = await openImageSource(layout.dir);
    try {
      const pushed = await pushImage(localImageSource(image), [parseImageReference(`${repository}:${tag}`)], {
        client,
      });
      digests.push(pushed.source.digest);
    } finally {
      await image.close();
    }
  }
  return digests;
}
