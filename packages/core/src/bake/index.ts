/** bake-image's domain: builders behind one interface, layer-append, verification, tags and labels from git. */
export * from './builder.js';
export * from './buildah.js';
export * from './buildx.js';
export * from './packer.js';
export * from './layer-append.js';
export * from './verify.js';
export * as metadata from './metadata.js';
