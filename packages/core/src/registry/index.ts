/**
 * `@kiln/core/registry`: Kiln's OCI registry client (auth, credentials, manifests, blobs, copy / promote).
 * See client.ts for the entry point and copy.ts for the promote engine.
 */
export * from './types.js';
export * from './media-types.js';
export * from './digest.js';
export * from './errors.js';
export * from './challenge.js';
export * from './scopes.js';
export * from './credentials.js';
export {
  DOCKER_HUB_SERVER_URL,
  dockerConfigCredentials,
  dockerConfigDir,
  normaliseRegistryKey,
  readDockerConfig,
  runCredentialHelper,
  type DockerAuthEntry,
  type DockerConfig,
} from './docker-config.js';
export { Authenticator, type RequestStats } from './auth.js';
export { RegistryTransport, type CallContext } from './transport.js';
export {
  MAX_MANIFEST_BYTES,
  manifestBlobs,
  parseManifest,
  platformString,
  type Manifest,
  type ManifestHead,
  type ParsedManifest,
  type PutManifestResult,
} from './manifest.js';
export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_UPLOAD_ATTEMPTS,
  withDigestParam,
  type BlobSource,
  type MountResult,
  type UploadResult,
} from './blobs.js';
export { referrersTag, type ReferrersResult } from './referrers.js';
export { ImageTreeLoader, imagesOf, loadImageTree, type ImageNode, type ManifestFetcher } from './tree.js';
export { createLimiter, type Limiter } from './limiter.js';
export { formatBytes, type ProgressCallback } from './progress.js';
export { RegistryClient, type RegistryClientOptions } from './client.js';
export {
  copyImage,
  CopyError,
  CopyRefusedError,
  localImageSource,
  pushImage,
  registrySource,
  type CopyAction,
  type CopyOptions,
  type CopyResult,
  type DestinationResult,
  type ImageContentSource,
  type LocalImage,
} from './copy.js';
