/**
 * Listing a repository's tags (`GET /v2/<name>/tags/list`, distribution-spec "content discovery"): pages of `n`
 * followed through the `Link: <…>; rel="next"` header the spec defines, at most `maxPages` of them.
 */
import { repositoryScope } from './scopes.js';
import type { CallContext, RegistryTransport } from './transport.js';
import type { RepositoryRef } from './types.js';

export interface ListTagsOptions extends CallContext {
  /** Tags per page (`n`). Default 1000. */
  pageSize?: number;
  /** Pages read at most. Default 20. */
  maxPages?: number;
}

/** The next page's path from a `Link` header, when it names one on this registry. */
export function nextLink(link: string | undefined): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!m?.[1]) return undefined;
  const target = m[1];
  if (target.startsWith('/v2/')) return target;
  try {
    const u = new URL(target);
    return u.pathname.startsWith('/v2/') ? `${u.pathname}${u.search}` : undefined;
  } catch {
    return undefined;
  }
}

/** The repository's tags (an absent repository has none). */
export async function listTags(
  t: RegistryTransport,
  repo: RepositoryRef,
  o: ListTagsOptions = {},
): Promise<string[]> {
  const tags: string[] = [];
  let path: string | undefined = `/v2/${repo.repository}/tags/list?n=${o.pageSize ?? 1000}`;
  for (let page = 0; path && page < (o.maxPages ?? 20); page++) {
    const op = { registry: repo.registry, repository: repo.repository, operation: 'GET tags' };
    const res = await t.send(
      { ...op, method: 'GET', path, scopes: [repositoryScope(repo.repository, 'pull')] },
      { ...(o.signal ? { signal: o.signal } : {}), ...(o.stats ? { stats: o.stats } : {}) },
    );
    if (res.status === 404) {
      await res.dump();
      return tags;
    }
    if (res.status !== 200) throw await t.failure(res, op);
    const body = await res.json<{ tags?: unknown }>();
    if (Array.isArray(body.tags)) for (const tag of body.tags) if (typeof tag === 'string') tags.push(tag);
    path = nextLink(res.header('link'));
  }
  return tags;
}
