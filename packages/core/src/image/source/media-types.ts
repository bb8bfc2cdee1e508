/** Media types image sources read and write (internal: not exported from the package). */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** True for an OCI image index or a Docker manifest list. */
export const isIndexMediaType = (m: string): boolean => m === OCI_INDEX || m === DOCKER_MANIFEST_LIST;

/** True for an OCI image manifest or a Docker v2 schema 2 manifest. */
export const isImageManifestMediaType = (m: string): boolean => m === OCI_MANIFEST || m === DOCKER_MANIFEST;

/** Docker schema 1 manifests: signed, not content-addressable the same way; not supported. */
export const isSchema1MediaType = (m: string): boolean =>
  m === 'application/vnd.docker.distribution.manifest.v1+json' ||
  m === 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** Largest manifest accepted (what registries accept: distribution's limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest index.json / manifest.json / config read whole. */
export const MAX_METADATA_BYTES = 32 * 1024 * 1024;
