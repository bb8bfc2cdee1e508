/**
 * Referrers (signatures, SBOMs, attestations: manifests whose `subject` is an image).
 *
 * `GET /v2/<name>/referrers/<digest>` answers an OCI index listing them on registries that implement the
 * referrers API (distribution-spec 1.1). Anywhere else (a 404, or 400/405/501), the fallback "tag schema" is
 * read instead: the index tagged `<alg>-<hex>` (`sha256-0123…`), which clients maintain by hand.
 */
import { OCI_INDEX } from './media-types.js';
import { getManifest, type Manifest } from './manifest.js';
import { repositoryScope } from './scopes.js';
import type { CallContext, RegistryTransport } from './transport.js';
import type { Descriptor, RepositoryRef } from './types.js';

export interface ReferrersResult {
  descriptors: Descriptor[];
  /** 'api': the referrers API answered; 'tag': the fallback tag; 'none': neither exists. */
  via: 'api' | 'tag' | 'none';
  /** The fallback tag's index, when `via` is 'tag'. */
  tagIndex?: Manifest;
}

/** The fallback tag of a subject digest: `sha256:abc…` → `sha256-abc…` (at most 128 characters). */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-').slice(0, 128);
}

export async function listReferrers(
  t: RegistryTransport,
  repo: RepositoryRef,
  digest: string,
  ctx: CallContext = {},
): Promise<ReferrersResult> {
  const op = {
    registry: repo.registry,
    repository: repo.repository,
    operation: `GET referrers of ${digest}`,
  };
  const res = await t.send(
    {
      ...op,
      method: 'GET',
      path: `/v2/${repo.repository}/referrers/${digest}`,
      scopes: [repositoryScope(repo.repository, 'pull')],
      headers: { accept: OCI_INDEX },
    },
    ctx,
  );
  if (res.status === 200) {
    const body = (await res.json().catch(() => undefined)) as { manifests?: Descriptor[] } | undefined;
    if (body && Array.isArray(body.manifests)) return { descriptors: body.manifests, via: 'api' };
  } else {
    await res.dump();
    if (![400, 404, 405, 501].includes(res.status)) throw await t.failure(res, op);
  }
  // The tag schema.
  const tag = referrersTag(digest);
  try {
    const index = await getManifest(t, repo, tag, ctx);
    if (index.parsed.kind !== 'index') return { descriptors: [], via: 'none' };
    return { descriptors: index.parsed.manifests, via: 'tag', tagIndex: index };
  } catch (err) {
    if ((err as { kind?: string }).kind === 'not-found') return { descriptors: [], via: 'none' };
    throw err;
  }
}
