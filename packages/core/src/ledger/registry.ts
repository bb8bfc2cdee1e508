/**
 * The registry backend: the ledger kept as OCI artifacts in a repository the pipeline already pushes to (by default
 * the released image's own), so it works on every CI and in a terminal with the credentials the deploy already has.
 *
 * Layout, per environment:
 * - each entry is an OCI artifact manifest (`artifactType: application/vnd.kiln.release.v1+json`, the empty config,
 *   one layer and an annotation holding the entry's JSON) whose `subject` is the released image when it lives in
 *   the same repository — so registries with the referrers API list an image's releases beside its signatures and
 *   SBOMs — tagged `kiln-ledger.<hash>.<release id>` (`<hash>`: 8 hex digits of the environment's name). A tag is
 *   written once per entry and never moved: that tag is the entry's record.
 * - the tag `kiln-ledger.<environment>` names an OCI index of the environment's entries, oldest first, each
 *   descriptor carrying the entry's JSON in an annotation: a cache that makes listing the ledger two GETs (the
 *   index and the tag list). It keeps the newest 1,000 entries (about 600 KB, far below the 4 MiB every registry
 *   must accept); an entry's tag is read only when the index lacks it.
 *
 * Consistency under concurrent pipelines: a registry has no compare-and-swap (the distribution spec has no
 * conditional PUT), so two pipelines updating the index at once can drop each other's descriptor — but not the
 * entry: its own tag is written first, and `list` reads any entry tag the index lacks. So no entry is lost, and
 * entries are ordered by their time. What the ledger cannot do is decide which of two deploys racing to one
 * environment won: the CI must serialize deploys to one environment — GitHub `concurrency: deploy-<environment>`,
 * GitLab `resource_group: <environment>` — as any pipeline that deploys should.
 */
import { createHash } from 'node:crypto';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { OCI_INDEX, OCI_MANIFEST } from '../registry/media-types.js';
import type { Descriptor, RepositoryRef } from '../registry/types.js';
import { sleep } from '../util/sleep.js';
import { LedgerError, parseEntry, type LedgerBackend, type LedgerCall, type LedgerEntry } from './entry.js';
import { newestFirst } from './history.js';

export const RELEASE_ARTIFACT = 'application/vnd.kiln.release.v1+json';
export const LEDGER_ARTIFACT = 'application/vnd.kiln.ledger.v1+json';
export const ENTRY_ANNOTATION = 'dev.kiln.release.entry';
export const ENVIRONMENT_ANNOTATION = 'dev.kiln.ledger.environment';
const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};
export const MAX_INDEX_ENTRIES = 1000;
/** Index writes retried when another pipeline's replaced ours (the entry is safe in its tag either way). */
const INDEX_ATTEMPTS = 4;
/** Entry tags read one by one at most, when the index lacks them. */
const MAX_ENTRY_READS = 200;

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * The tag of an environment's index: `kiln-ledger.<environment>`, with characters a tag cannot hold replaced and a
 * short hash of the exact name added when any were (so `prod/eu` and `prod-eu` stay apart).
 */
export function ledgerTag(environment: string): string {
  const safe = environment.replace(/[^A-Za-z0-9_.-]/g, '-');
  const tag = `kiln-ledger.${safe}`;
  if (safe === environment && tag.length <= 128) return tag;
  const hash = createHash('sha256').update(environment).digest('hex').slice(0, 8);
  return `${tag.slice(0, 128 - 9)}.${hash}`;
}

/** The prefix of an environment's entry tags: `kiln-ledger.<8 hex of sha256(environment)>.` */
export function entryTagPrefix(environment: string): string {
  return `kiln-ledger.${createHash('sha256').update(environment).digest('hex').slice(0, 8)}.`;
}

export class RegistryLedger implements LedgerBackend {
  readonly kind = 'registry';
  readonly location: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly repo: RepositoryRef,
    private readonly o: { maxEntries?: number; random?: () => number } = {},
  ) {
    this.location = `oci://${repo.registry}/${repo.repository}`;
  }

  async list(environment: string, call: LedgerCall & { limit?: number } = {}): Promise<LedgerEntry[]> {
    const ctx = call.signal ? { signal: call.signal } : {};
    const [index, tags] = await Promise.all([
      this.readIndex(environment, call),
      this.client.listTags(this.repo, ctx).catch((e: unknown) => {
        throw this.ledgerError(e, 'read');
      }),
    ]);
    const byId = new Map<string, LedgerEntry>();
    for (const d of index.descriptors) {
      const e = entryOf(d.annotations);
      if (e && e.environment === environment) byId.set(e.id, e);
    }
    // Entries whose index write was lost to a concurrent pipeline: read from their own tags.
    const prefix = entryTagPrefix(environment);
    const missing = tags
      .filter((t) => t.startsWith(prefix) && !byId.has(t.slice(prefix.length)))
      .sort()
      .slice(-MAX_ENTRY_READS);
    for (const tag of missing) {
      const m = await this.client.getManifest(this.repo, tag, ctx).catch(() => undefined);
      const e = m && m.parsed.kind === 'image' ? entryOf(annotationsOf(m.bytes)) : undefined;
      if (e && e.environment === environment) byId.set(e.id, e);
    }
    return newestFirst([...byId.values()]).slice(0, call.limit ?? 100);
  }

  async append(entry: LedgerEntry, call: LedgerCall = {}): Promise<LedgerEntry> {
    const ctx = { ...(call.signal ? { signal: call.signal } : {}) };
    try {
      const descriptor = await this.putEntry(entry, ctx);
      const tag = ledgerTag(entry.environment);
      for (let attempt = 1; attempt <= INDEX_ATTEMPTS; attempt++) {
        const index = await this.readIndex(entry.environment, call);
        if (index.descriptors.some((d) => d.digest === descriptor.digest)) return entry;
        const kept = [...index.descriptors, descriptor].slice(-(this.o.maxEntries ?? MAX_INDEX_ENTRIES));
        const bytes = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_INDEX,
            artifactType: LEDGER_ARTIFACT,
            manifests: kept,
            annotations: { [ENVIRONMENT_ANNOTATION]: entry.environment },
          }),
        );
        await this.client.putManifest(this.repo, tag, { bytes, mediaType: OCI_INDEX }, ctx);
        // Read it back: another pipeline's write between our read and our write would have dropped ours.
        const after = await this.readIndex(entry.environment, call);
        if (after.descriptors.some((d) => d.digest === descriptor.digest)) return entry;
        const random = this.o.random ?? Math.random;
        await sleep(Math.floor(50 * 2 ** attempt * (0.5 + random())), call.signal);
      }
      // The index kept changing under concurrent writes: the entry is in its own tag, which `list` reads.
      return entry;
    } catch (e) {
      throw this.ledgerError(e, 'write');
    }
  }

  /** Uploads the entry's blob and manifest (subject: the released image, when it is in this repository). */
  private async putEntry(entry: LedgerEntry, ctx: { signal?: AbortSignal }): Promise<Descriptor> {
    const json = Buffer.from(JSON.stringify(entry));
    const layer = { mediaType: RELEASE_ARTIFACT, digest: sha256(json), size: json.length };
    if ((await this.client.blobExists(this.repo, EMPTY_CONFIG.digest, ctx)) === undefined)
      await this.client.uploadBlob(this.repo, EMPTY_CONFIG, Buffer.from('{}'), ctx);
    if ((await this.client.blobExists(this.repo, layer.digest, ctx)) === undefined)
      await this.client.uploadBlob(this.repo, layer, json, ctx);
    const subject = await this.subjectOf(entry, ctx);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: RELEASE_ARTIFACT,
        config: EMPTY_CONFIG,
        layers: [layer],
        ...(subject ? { subject } : {}),
        annotations: {
          'org.opencontainers.image.created': entry.time,
          'dev.kiln.release.id': entry.id,
          [ENVIRONMENT_ANNOTATION]: entry.environment,
          [ENTRY_ANNOTATION]: JSON.stringify(entry),
        },
      }),
    );
    const digest = sha256(manifest);
    await this.client.putManifest(
      this.repo,
      `${entryTagPrefix(entry.environment)}${entry.id}`,
      { bytes: manifest, mediaType: OCI_MANIFEST },
      ctx,
    );
    return {
      mediaType: OCI_MANIFEST,
      digest,
      size: manifest.length,
      artifactType: RELEASE_ARTIFACT,
      annotations: { [ENTRY_ANNOTATION]: JSON.stringify(entry) },
    };
  }

  private async subjectOf(
    entry: LedgerEntry,
    ctx: { signal?: AbortSignal },
  ): Promise<Descriptor | undefined> {
    if (entry.image !== `${this.repo.registry}/${this.repo.repository}`) return undefined;
    const head = await this.client.headManifest(this.repo, entry.digest, ctx).catch(() => undefined);
    if (!head?.mediaType || head.size === undefined) return undefined;
    return { mediaType: head.mediaType, digest: entry.digest, size: head.size };
  }

  private async readIndex(environment: string, call: LedgerCall): Promise<{ descriptors: Descriptor[] }> {
    const tag = ledgerTag(environment);
    try {
      const m = await this.client.getManifest(this.repo, tag, call.signal ? { signal: call.signal } : {});
      if (m.parsed.kind !== 'index')
        throw new LedgerError(`${this.location}:${tag} is not a Kiln ledger (not an OCI index)`, 'corrupt');
      return { descriptors: m.parsed.manifests };
    } catch (e) {
      if (e instanceof RegistryError && e.kind === 'not-found') return { descriptors: [] };
      throw this.ledgerError(e, 'read');
    }
  }

  private ledgerError(e: unknown, what: 'read' | 'write'): unknown {
    if (e instanceof LedgerError || !(e instanceof RegistryError)) return e;
    const kind =
      e.kind === 'auth' || e.kind === 'denied'
        ? 'denied'
        : e.kind === 'transport'
          ? 'unreachable'
          : 'corrupt';
    return new LedgerError(
      `cannot ${what} the ledger ${this.location}: ${e.message}${kind === 'denied' && what === 'write' ? ' (the ledger needs push access to this repository)' : ''}`,
      kind,
      { cause: e },
    );
  }
}

/** A manifest's annotations (an entry manifest carries its entry in one). */
function annotationsOf(bytes: Uint8Array): Record<string, string> | undefined {
  try {
    const o = JSON.parse(Buffer.from(bytes).toString('utf8')) as { annotations?: Record<string, string> };
    return o.annotations;
  } catch {
    return undefined;
  }
}

/** The entry an index descriptor or an entry manifest carries in its annotations; undefined for anything else. */
function entryOf(annotations: Record<string, string> | undefined): LedgerEntry | undefined {
  const raw = annotations?.[ENTRY_ANNOTATION];
  if (!raw || raw.length > 64 * 1024) return undefined;
  try {
    return parseEntry(JSON.parse(raw));
  } catch {
    return undefined;
  }
}
