/**
 * {@link openImageSource} as the rest of Kiln calls it: the readers (open.ts: tar index, OCI layout, docker
 * archive, gzip) are loaded by the first call, so a push from another registry, or any run that never opens a
 * local image, does not load them.
 */
import type { ImageSource, OpenImageSourceOptions } from './types.js';

/** Opens a local image (see open.ts for the spec forms: `oci:`, `oci-archive:`, `docker-archive:`, a path). */
export async function openImageSource(spec: string, opts: OpenImageSourceOptions = {}): Promise<ImageSource> {
  return (await import('./open.js')).openImageSource(spec, opts);
}
