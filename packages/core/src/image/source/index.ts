/** Image sources: images a builder wrote locally, read blob by blob for a registry push. */
export type {
  BlobDescriptor,
  ImageSource,
  ImageSourceKind,
  ImageWalkItem,
  OpenImageSourceOptions,
} from './types.js';
export { openImageSource } from './load.js';
export { parseImageSourceSpec, type ImageSourceSpec } from './spec.js';
export { walkImage } from './walk.js';
export { BlobDigestMismatchError } from './digest.js';
