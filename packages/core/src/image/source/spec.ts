/**
 * Parsing an image source spec (`oci:<dir>[:<ref>]`, `oci-archive:…`, `docker-archive:…` or a path; see open.ts),
 * with no file system access. Apart from open.ts so that checking a `source` input does not load the readers.
 */
import { ConfigurationError } from '../../errors.js';

/** A parsed source spec. `transport: 'path'` means a bare path whose kind is detected from its content. */
export interface ImageSourceSpec {
  transport: 'oci' | 'oci-archive' | 'docker-archive' | 'path';
  path: string;
  ref?: string;
}

const EXPECTED =
  "expected 'oci:<dir>[:<ref>]', 'oci-archive:<file>[:<ref>]', 'docker-archive:<file>[:<name:tag>|:@<index>]' or a path";

/** skopeo transports that name something other than local files. */
const OTHER_TRANSPORTS = new Set([
  'docker',
  'docker-daemon',
  'containers-storage',
  'dir',
  'ostree',
  'sif',
  'tarball',
  'atomic',
  'http',
  'https',
]);

/** Parses a source spec (no file system access). Throws a {@link ConfigurationError} for a malformed one. */
export function parseImageSourceSpec(spec: string): ImageSourceSpec {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new ConfigurationError(`empty image source; ${EXPECTED}`);
  const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(spec);
  if (m && (m[1] === 'oci' || m[1] === 'oci-archive' || m[1] === 'docker-archive')) {
    const rest = m[2]!;
    const colon = rest.indexOf(':');
    const path = colon === -1 ? rest : rest.slice(0, colon);
    const ref = colon === -1 ? undefined : rest.slice(colon + 1);
    if (path === '')
      throw new ConfigurationError(`image source '${spec}' has no path after '${m[1]}:'; ${EXPECTED}`);
    return { transport: m[1], path, ref: ref === '' ? undefined : ref };
  }
  if (m && OTHER_TRANSPORTS.has(m[1]!)) {
    throw new ConfigurationError(
      `image source '${spec}': the '${m[1]}:' transport is not a local image file; ${EXPECTED}`,
    );
  }
  return { transport: 'path', path: spec };
}
