/**
 * The manifest and blob media types a registry client must know, and how to tell them apart.
 *
 * Four manifest types matter for push and promote: the OCI image index and manifest, and their Docker
 * schema-2 twins (manifest list, manifest). Every manifest GET and HEAD sends all four in `Accept`: a registry
 * that is not told a type is acceptable may convert the manifest (distribution 2.x answers a manifest list
 * with the linux/amd64 child, older registries fall back to schema 1), which changes the digest. Schema 1 is
 * refused with a clear error: it is signed per registry and cannot be copied byte for byte.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_MANIFEST_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** The `Accept` header of every manifest GET and HEAD: the four types Kiln copies byte for byte. */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST].join(', ');

/** True for an OCI index or a Docker manifest list (a manifest naming other manifests, usually per platform). */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

/** True for an OCI image manifest or a Docker schema-2 manifest (config + layers). */
export function isImageManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

/** True for any manifest type Kiln can copy. */
export function isSupportedManifestMediaType(mediaType: string | undefined): boolean {
  return isIndexMediaType(mediaType) || isImageManifestMediaType(mediaType);
}

export function isSchema1MediaType(mediaType: string | undefined): boolean {
  return (
    mediaType === DOCKER_MANIFEST_SCHEMA1 ||
    mediaType === DOCKER_MANIFEST_SCHEMA1_SIGNED ||
    mediaType === 'application/json'
  );
}

/**
 * Layers a registry is not required to hold (Windows foreign layers, OCI non-distributable layers): they are
 * fetched from their `urls` by the runtime, so a copy skips them.
 */
export function isNonDistributableMediaType(mediaType: string | undefined): boolean {
  return (
    mediaType !== undefined &&
    (mediaType.startsWith('application/vnd.docker.image.rootfs.foreign.') ||
      mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.'))
  );
}

/** The media type of a `Content-Type` header without parameters (`; charset=utf-8`), lower-cased. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const bare = contentType.split(';')[0]?.trim().toLowerCase();
  return bare ? bare : undefined;
}
