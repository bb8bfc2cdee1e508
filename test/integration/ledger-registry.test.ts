/**
 * The registry ledger against a real registry (Debian's docker-registry, CNCF distribution): entries written as OCI
 * artifacts tagged per entry and indexed per environment, read back whole, never lost to concurrent writers, refused
 * credentials as one typed error.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import type { LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { LedgerError } from '../../packages/core/src/ledger/entry.js';
import {
  ENTRY_ANNOTATION,
  entryTagPrefix,
  ledgerTag,
  RegistryLedger,
} from '../../packages/core/src/ledger/registry.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  localImageSource,
  OCI_INDEX,
  pushImage,
  RegistryClient,
} from '../../packages/core/src/registry/index.js';
import { writeOciLayout } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const SLOW = 60_000;
let reg: RunningRegistry;
let locked: RunningRegistry;
let work: string;
let client: RegistryClient;
let imageDigest: string;
const REPO = 'shop/web';

beforeAll(async () => {
  if (!registryAvailable())
    throw new Error('docker-registry is not installed: `apt-get install docker-registry`');
  work = await mkdtemp(join(tmpdir(), 'kiln-ledger-registry-'));
  reg = await startRegistry();
  locked = await startRegistry({ auth: { kind: 'basic', users: { alice: 'secret-Ledger1' } } });
  client = new RegistryClient({ logger: new MemoryLogger(), env: { HOME: work }, dockerConfigDir: work });
  const layout = await writeOciLayout(join(work, 'layout'), { seed: 'ledger', randomBytes: 1000 });
  const image = await openImageSource(layout.dir);
  try {
    const pushed = await pushImage(
      localImageSource(image),
      [parseImageReference(`${reg.host}/${REPO}:1.0`)],
      {
        client,
      },
    );
    imageDigest = pushed.source.digest;
  } finally {
    await image.close();
  }
}, SLOW);

afterAll(async () => {
  await reg?.stop();
  await locked?.stop();
  closeHttpPools();
  if (work) await removeDir(work);
});

let n = 0;
function entry(o: Partial<LedgerEntry> = {}): LedgerEntry {
  n++;
  return {
    id: `20261130.0400${String(n).padStart(2, '0')}.a${String(n).padStart(3, '0')}`,
    event: 'deploy',
    environment: 'qa',
    time: `2026-11-30T04:00:${String(n).padStart(2, '0')}.000Z`,
    image: `${reg.host}/${REPO}`,
    digest: imageDigest,
    result: 'success',
    ...o,
  };
}

const ledger = (repo = REPO) => new RegistryLedger(client, { registry: reg.host, repository: repo });

describe('the registry ledger', () => {
  test(
    'entries round-trip whole, newest first, per environment; each is an artifact whose subject is the image',
    async () => {
      const l = ledger();
      const deploy = entry({
        commit: 'a'.repeat(40),
        runUrl: 'https://ci.example/run/1',
        actor: 'alice',
        previousDigest: `sha256:${'0'.repeat(64)}`,
        target: { platform: 'kubernetes', clusters: ['https://k8s.example'], apps: ['Deployment/web'] },
        description: 'deploy 1.0',
      });
      const verify = entry({ event: 'verify', verdict: 'passed', of: deploy.id });
      const prod = entry({ environment: 'prod' });
      for (const e of [deploy, verify, prod]) await l.append(e);

      expect(await l.list('qa')).toEqual([verify, deploy]);
      expect(await l.list('prod')).toEqual([prod]);
      expect(await l.list('staging')).toEqual([]);

      const m = await client.getManifest(
        { registry: reg.host, repository: REPO },
        `${entryTagPrefix('qa')}${deploy.id}`,
      );
      const body = JSON.parse(m.bytes.toString()) as {
        artifactType: string;
        subject: { digest: string };
        annotations: Record<string, string>;
      };
      expect(body.artifactType).toBe('application/vnd.kiln.release.v1+json');
      expect(body.subject.digest).toBe(imageDigest);
      expect(JSON.parse(body.annotations[ENTRY_ANNOTATION] ?? '{}')).toEqual(deploy);
      const index = await client.getManifest({ registry: reg.host, repository: REPO }, ledgerTag('qa'));
      expect(index.mediaType).toBe(OCI_INDEX);
    },
    SLOW,
  );

  test(
    'concurrent appends to one environment all land, even when the index writes overwrite each other',
    async () => {
      const appends = Array.from({ length: 8 }, (_, i) =>
        entry({ environment: 'race', description: `pipeline ${i}` }),
      );
      await Promise.all(appends.map((e) => ledger().append(e)));
      const listed = await ledger().list('race');
      expect(listed.map((e) => e.id).sort()).toEqual(appends.map((e) => e.id).sort());

      // An index put back to an older state (a lost update) loses nothing: the entries' own tags are read.
      const repo = { registry: reg.host, repository: REPO };
      const old = await client.getManifest(repo, ledgerTag('race'));
      const later = entry({ environment: 'race' });
      await ledger().append(later);
      await client.putManifest(repo, ledgerTag('race'), { bytes: old.bytes, mediaType: OCI_INDEX });
      expect((await ledger().list('race')).map((e) => e.id)).toContain(later.id);
    },
    SLOW,
  );

  test('environment names a tag cannot hold get a safe tag that keeps them apart', async () => {
    expect(ledgerTag('qa')).toBe('kiln-ledger.qa');
    expect(ledgerTag('prod/eu')).toMatch(/^kiln-ledger\.prod-eu\.[0-9a-f]{8}$/);
    expect(ledgerTag('prod/eu')).not.toBe(ledgerTag('prod-eu'));
    const e = entry({ environment: 'prod/eu' });
    await ledger().append(e);
    expect(await ledger().list('prod/eu')).toEqual([e]);
    expect(await ledger().list('prod-eu')).toEqual([]);
  });

  test('a ledger in another repository has no subject and works the same', async () => {
    const e = entry({ environment: 'qa' });
    const other = ledger('shop/releases');
    await other.append(e);
    expect(await other.list('qa')).toEqual([e]);
    const m = await client.getManifest(
      { registry: reg.host, repository: 'shop/releases' },
      `${entryTagPrefix('qa')}${e.id}`,
    );
    expect(JSON.parse(m.bytes.toString())).not.toHaveProperty('subject');
  });

  test('a tag that is not a ledger index is a corrupt ledger, named; refused credentials are "denied"', async () => {
    const layout = await writeOciLayout(join(work, 'corrupt'), { seed: 'corrupt', randomBytes: 100 });
    const image = await openImageSource(layout.dir);
    try {
      await pushImage(
        localImageSource(image),
        [parseImageReference(`${reg.host}/shop/corrupt:${ledgerTag('qa')}`)],
        {
          client,
        },
      );
    } finally {
      await image.close();
    }
    const corrupt = ledger('shop/corrupt').list('qa');
    await expect(corrupt).rejects.toBeInstanceOf(LedgerError);
    await expect(corrupt).rejects.toMatchObject({ kind: 'corrupt' });

    const anonymous = new RegistryLedger(
      new RegistryClient({ logger: new MemoryLogger(), env: { HOME: work }, dockerConfigDir: work }),
      { registry: locked.host, repository: REPO },
    );
    const denied = anonymous.append(entry());
    await expect(denied).rejects.toMatchObject({ name: 'LedgerError', kind: 'denied' });
    await expect(denied).rejects.toThrow(
      /cannot write the ledger oci:\/\/127\.0\.0\.1:\d+\/shop\/web: .*push access/,
    );
  });
});
