/**
 * Reading manifests and indexes: descriptor validation, and what a manifest document references (children of an
 * index; config and layers of an image manifest), for OCI and Docker v2 schema 2 media types.
 */
import { ConfigurationError } from '../../errors.js';
import { parseDigest } from './digest.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  isImageManifestMediaType,
  isIndexMediaType,
  isSchema1MediaType,
} from './media-types.js';
import type { BlobDescriptor } from './types.js';

/** What a manifest document says, once parsed. */
export type ParsedManifest =
  | { kind: 'index'; mediaType: string; manifests: BlobDescriptor[] }
  | { kind: 'manifest'; mediaType: string; config: BlobDescriptor; layers: BlobDescriptor[] };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses JSON, with a clear error naming what it was. */
export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ConfigurationError(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * Validates one descriptor: `mediaType` (string), `digest` (sha256/384/512), `size` (a non-negative integer),
 * optional string `annotations` and `platform` (kept as given: architecture, os, variant).
 */
export function parseDescriptor(value: unknown, context: string): BlobDescriptor {
  if (!isObject(value)) throw new ConfigurationError(`${context}: a descriptor must be a JSON object`);
  const { mediaType, digest, size, annotations, platform } = value;
  if (typeof mediaType !== 'string' || mediaType === '') {
    throw new ConfigurationError(`${context}: descriptor has no mediaType`);
  }
  parseDigest(digest, context);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ConfigurationError(
      `${context}: descriptor of ${String(digest)} has an invalid size ${JSON.stringify(size)}`,
    );
  }
  const out: BlobDescriptor = { mediaType, digest: digest as string, size };
  if (annotations !== undefined) {
    if (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string')) {
      throw new ConfigurationError(
        `${context}: annotations of ${digest as string} must map strings to strings`,
      );
    }
    out.annotations = annotations as Record<string, string>;
  }
  if (platform !== undefined) {
    if (!isObject(platform) || typeof platform.architecture !== 'string' || typeof platform.os !== 'string') {
      throw new ConfigurationError(
        `${context}: platform of ${digest as string} needs string 'architecture' and 'os'`,
      );
    }
    out.platform = { architecture: platform.architecture, os: platform.os };
    if (typeof platform.variant === 'string') out.platform.variant = platform.variant;
  }
  return out;
}

/**
 * Parses a manifest or index. The media type is the document's own `mediaType` field, else `hint` (the media type
 * of the descriptor that pointed here), else inferred from the shape (`manifests` → OCI index, `config` → OCI
 * manifest). A document whose `mediaType` differs from the descriptor's is refused (registries refuse it too).
 */
export function parseManifest(bytes: Buffer, hint: string | undefined, what: string): ParsedManifest {
  const doc = parseJson(bytes, what);
  if (!isObject(doc)) throw new ConfigurationError(`${what} is not a JSON object`);
  if (doc.schemaVersion === 1 || (hint !== undefined && isSchema1MediaType(hint))) {
    throw new ConfigurationError(`${what} is a Docker schema 1 manifest, which is not supported`);
  }
  if (doc.schemaVersion !== 2) {
    throw new ConfigurationError(
      `${what} has schemaVersion ${JSON.stringify(doc.schemaVersion)}; expected 2`,
    );
  }
  const own = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (own !== undefined && hint !== undefined && own !== hint) {
    throw new ConfigurationError(`${what} says its mediaType is '${own}' but its descriptor says '${hint}'`);
  }
  const mediaType = own ?? hint ?? (Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST);
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests))
      throw new ConfigurationError(`${what} is an index without 'manifests'`);
    return {
      kind: 'index',
      mediaType,
      manifests: doc.manifests.map((d, i) => parseDescriptor(d, `${what}, manifests[${i}]`)),
    };
  }
  if (isImageManifestMediaType(mediaType)) {
    if (!Array.isArray(doc.layers)) throw new ConfigurationError(`${what} is a manifest without 'layers'`);
    return {
      kind: 'manifest',
      mediaType,
      config: parseDescriptor(doc.config, `${what}, config`),
      layers: doc.layers.map((d, i) => parseDescriptor(d, `${what}, layers[${i}]`)),
    };
  }
  throw new ConfigurationError(
    `${what} has unsupported media type '${mediaType}' (expected ${[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', ')})`,
  );
}
