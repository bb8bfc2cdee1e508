/** Image sources: images a builder wrote locally, read blob by blob for a registry push. */
export type {
  BlobDescriptor,
  ImageSource,
  ImageSourceKind,
  ImageWalkItem,
  OpenImageSourceOptions,
} from './types.js';
export { openImageSource, parseImageSourceSpec, type ImageSourceSpec } from './open.js';
export { walkImage } from './walk.js';
export { BlobDigestMismatchError } from './digest.js';
