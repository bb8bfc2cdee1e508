/**
 * Manifests: GET, HEAD and PUT, parsing, and walking an index.
 *
 * Manifests are handled as the exact bytes the registry served: the digest is the hash of those bytes, so
 * they are never re-serialised. A GET is verified three ways: the computed hash must equal the
 * `Docker-Content-Digest` header (when the registry sends one), and, when fetched by digest, the digest that
 * was asked for. A PUT sends `Content-Type` = the manifest's media type and the same bytes, and checks the
 * digest the registry reports. The media type is the manifest's own `mediaType` field when it has one (OCI
 * makes it optional), else the response's `Content-Type`, else what the structure says (`manifests` → index).
 */
import { ConfigurationError } from '../errors.js';
import type { HttpResponse } from '../http/http.js';
import { digestLike, isVerifiableDigest } from './digest.js';
import { RegistryError } from './errors.js';
import {
  bareMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  isNonDistributableMediaType,
  isSchema1MediaType,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
} from './media-types.js';
import { repositoryScope } from './scopes.js';
import type { CallContext, RegistryTransport } from './transport.js';
import { referenceString, type Descriptor, type ImagePlatform, type RepositoryRef } from './types.js';

/** Registries must accept manifests up to 4 MiB (distribution-spec); Kiln refuses to buffer larger ones. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export type ParsedManifest =
  | {
      kind: 'index';
      mediaType: string;
      manifests: Descriptor[];
      subject?: Descriptor;
      artifactType?: string;
    }
  | {
      kind: 'image';
      mediaType: string;
      config: Descriptor;
      layers: Descriptor[];
      subject?: Descriptor;
      artifactType?: string;
    };

/** A manifest as served: exact bytes, their digest, and the parsed view. */
export interface Manifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  size: number;
  parsed: ParsedManifest;
}

/** What a HEAD says about a manifest. */
export interface ManifestHead {
  /** From `Docker-Content-Digest`; undefined when the registry did not send it. */
  digest?: string;
  mediaType?: string;
  size?: number;
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    typeof x.size === 'number'
  );
}

/**
 * Parses manifest bytes. `contentType` is the response's `Content-Type`. Throws a ConfigurationError for
 * schema 1 and for anything that is not a manifest Kiln can copy.
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ConfigurationError('the manifest is not valid JSON');
  }
  if (typeof json !== 'object' || json === null)
    throw new ConfigurationError('the manifest is not a JSON object');
  const header = bareMediaType(contentType);
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (json.schemaVersion === 1 || isSchema1MediaType(declared) || (isSchema1MediaType(header) && !declared)) {
    throw new ConfigurationError(
      'the image has a Docker schema 1 manifest, which cannot be copied digest-preserving; re-push it with a current client',
    );
  }
  const subject = isDescriptor(json.subject) ? json.subject : undefined;
  const artifactType = typeof json.artifactType === 'string' ? json.artifactType : undefined;
  const extra = { ...(subject ? { subject } : {}), ...(artifactType ? { artifactType } : {}) };
  if (Array.isArray(json.manifests)) {
    const mediaType = declared ?? (isIndexMediaType(header) ? header! : OCI_INDEX);
    if (!json.manifests.every(isDescriptor)) throw new ConfigurationError('the index has a malformed entry');
    return { kind: 'index', mediaType, manifests: json.manifests as Descriptor[], ...extra };
  }
  if (isDescriptor(json.config) && Array.isArray(json.layers)) {
    const mediaType = declared ?? (isImageManifestMediaType(header) ? header! : OCI_MANIFEST);
    if (!json.layers.every(isDescriptor)) throw new ConfigurationError('the manifest has a malformed layer');
    return { kind: 'image', mediaType, config: json.config, layers: json.layers as Descriptor[], ...extra };
  }
  throw new ConfigurationError(`unsupported manifest (media type ${declared ?? header ?? 'unknown'})`);
}

/** The blobs an image manifest references (config first), without non-distributable layers. */
export function manifestBlobs(parsed: ParsedManifest): Descriptor[] {
  if (parsed.kind !== 'image') return [];
  return [parsed.config, ...parsed.layers].filter((d) => !isNonDistributableMediaType(d.mediaType));
}

/** 'linux/arm64/v8'. */
export function platformString(p: ImagePlatform | undefined): string {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

function manifestPath(repo: RepositoryRef, reference: string): string {
  return `/v2/${repo.repository}/manifests/${reference}`;
}

async function readLimited(res: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(res.header('content-length') ?? '0');
  if (declared > limit) {
    await res.dump();
    throw new Error(`manifest of ${declared} bytes is larger than the ${limit} bytes Kiln accepts`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.body.destroy();
      throw new Error(`manifest is larger than the ${limit} bytes Kiln accepts`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** GET a manifest by tag or digest; the exact bytes, verified. */
export async function getManifest(
  t: RegistryTransport,
  repo: RepositoryRef,
  reference: string,
  ctx: CallContext = {},
): Promise<Manifest> {
  const name = referenceString(repo, reference);
  const op = { registry: repo.registry, repository: repo.repository, operation: `GET manifest ${name}` };
  const res = await t.send(
    {
      ...op,
      method: 'GET',
      path: manifestPath(repo, reference),
      scopes: [repositoryScope(repo.repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT },
    },
    ctx,
  );
  if (res.status !== 200) throw await t.failure(res, op, name);
  let bytes: Buffer;
  try {
    bytes = await readLimited(res, MAX_MANIFEST_BYTES);
  } catch (err) {
    throw t.transportError(err, op);
  }
  const headerDigest = res.header('docker-content-digest')?.trim();
  const byDigest = reference.includes(':');
  const mismatch = (message: string) =>
    new RegistryError(`${name}: ${message}`, { ...op, kind: 'digest-mismatch' });
  if (byDigest && isVerifiableDigest(reference) && digestLike(bytes, reference) !== reference) {
    throw mismatch(`the registry served a manifest whose digest is ${digestLike(bytes, reference)}`);
  }
  if (headerDigest && isVerifiableDigest(headerDigest) && digestLike(bytes, headerDigest) !== headerDigest) {
    throw mismatch(
      `Docker-Content-Digest ${headerDigest} does not match the manifest served (${digestLike(bytes, headerDigest)})`,
    );
  }
  const digest = byDigest ? reference : digestLike(bytes, headerDigest);
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes, res.header('content-type'));
  } catch (err) {
    throw new ConfigurationError(`${name}: ${(err as Error).message}`);
  }
  return { bytes, digest, mediaType: parsed.mediaType, size: bytes.length, parsed };
}

/** HEAD a manifest; undefined when it does not exist. */
export async function headManifest(
  t: RegistryTransport,
  repo: RepositoryRef,
  reference: string,
  ctx: CallContext = {},
): Promise<ManifestHead | undefined> {
  const name = referenceString(repo, reference);
  const op = { registry: repo.registry, repository: repo.repository, operation: `HEAD manifest ${name}` };
  const res = await t.send(
    {
      ...op,
      method: 'HEAD',
      path: manifestPath(repo, reference),
      scopes: [repositoryScope(repo.repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT },
    },
    ctx,
  );
  await res.dump();
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw await t.failure(res, op, name);
  const digest = res.header('docker-content-digest')?.trim();
  const size = res.header('content-length');
  const head: ManifestHead = {};
  if (digest) head.digest = digest;
  const mediaType = bareMediaType(res.header('content-type'));
  if (mediaType) head.mediaType = mediaType;
  if (size !== undefined && /^\d+$/.test(size)) head.size = Number(size);
  return head;
}

export interface PutManifestResult {
  /** The digest of the bytes sent (checked against the registry's `Docker-Content-Digest`). */
  digest: string;
  /** The registry's `Docker-Content-Digest` (already checked to match); undefined when it sent none. */
  registryDigest?: string;
  /** The registry's `OCI-Subject` header: present when it indexed the manifest's subject (referrers API). */
  subject?: string;
}

/** PUT the exact bytes under a tag or digest, `Content-Type` = `mediaType`. */
export async function putManifest(
  t: RegistryTransport,
  repo: RepositoryRef,
  reference: string,
  manifest: { bytes: Uint8Array; mediaType: string },
  ctx: CallContext = {},
): Promise<PutManifestResult> {
  const name = referenceString(repo, reference);
  const op = { registry: repo.registry, repository: repo.repository, operation: `PUT manifest ${name}` };
  const bytes = Buffer.from(manifest.bytes);
  const res = await t.send(
    {
      ...op,
      method: 'PUT',
      path: manifestPath(repo, reference),
      scopes: [repositoryScope(repo.repository, 'pull', 'push')],
      headers: { 'content-type': manifest.mediaType },
      body: bytes,
    },
    ctx,
  );
  if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await t.failure(res, op);
  await res.dump();
  const headerDigest = res.header('docker-content-digest')?.trim();
  const digest = digestLike(bytes, reference.includes(':') ? reference : headerDigest);
  if (reference.includes(':') && isVerifiableDigest(reference) && digest !== reference) {
    throw new RegistryError(
      `${name}: the manifest bytes hash to ${digest}, not to the digest they were pushed as`,
      {
        ...op,
        kind: 'digest-mismatch',
      },
    );
  }
  if (headerDigest && isVerifiableDigest(headerDigest) && headerDigest !== digestLike(bytes, headerDigest)) {
    throw new RegistryError(
      `${name}: the registry stored the manifest as ${headerDigest}, expected ${digestLike(bytes, headerDigest)}`,
      { ...op, kind: 'digest-mismatch' },
    );
  }
  const subject = res.header('oci-subject')?.trim();
  return {
    digest,
    ...(headerDigest ? { registryDigest: headerDigest } : {}),
    ...(subject ? { subject } : {}),
  };
}
