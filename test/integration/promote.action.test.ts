/**
 * promote as users run it: the committed bundle under the runner contract (this machine's Node and Node 24) and
 * the CLI bundle in GitLab mode, against real registries (CNCF distribution: open, htpasswd, token auth) with the
 * counting proxy in front, and skopeo for interoperability. Requests and bytes are counted by the proxy.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  localImageSource,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  referrersTag,
  RegistryClient,
} from '../../packages/core/src/registry/index.js';
import { repoRoot, runBundle, runtimes, type RunResult } from '../harness/runner.js';
import {
  expectNoLeak as expectNoLeakOf,
  oneErrorLine,
  onlyErrorLine,
  rawHead,
} from '../harness/assertions.js';
import { runNode, type ChildResult } from '../harness/tsx.js';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { removeDir } from '../sim/registry/util.js';

const PASSWORD = 'wonderland-Pr0mote';
const expectNoLeak = (r: RunResult | ChildResult, dirs: string[], secret = PASSWORD) =>
  expectNoLeakOf(r, dirs, secret);
const USERS = { alice: PASSWORD };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const basicAuth = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

let open: RunningRegistry;
let open2: RunningRegistry;
let basicReg: RunningRegistry;
let tokenReg: RunningRegistry;
/** In front of `open` (the source registry of most tests). */
let proxy: FaultProxy;
/** In front of `open2` (a second registry). */
let proxy2: FaultProxy;
let skopeo: Skopeo;
let work: string;
let emptyDockerConfig: string;
let client: RegistryClient;
let seq = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!registryAvailable() || !skopeoAvailable())
    throw new Error('promote tests need docker-registry and skopeo (apt-get install docker-registry skopeo)');
  work = await mkdtemp(join(tmpdir(), 'kiln-promote-'));
  emptyDockerConfig = join(work, 'docker-config');
  await mkdir(emptyDockerConfig);
  const started = [
    startRegistry({ logLevel: 'error' }),
    startRegistry({ logLevel: 'error' }),
    startRegistry({ logLevel: 'error', auth: { kind: 'basic', users: USERS } }),
    startRegistry({ logLevel: 'error', auth: { kind: 'token', users: USERS } }),
  ] as const;
  const settled = await Promise.allSettled(started);
  for (const s of settled) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
  [open, open2, basicReg, tokenReg] = await Promise.all(started);
  proxy = await startFaultProxy(open.url);
  proxy2 = await startFaultProxy(open2.url);
  cleanups.push(
    () => proxy.close(),
    () => proxy2.close(),
  );
  skopeo = await createSkopeo();
  cleanups.push(() => skopeo.close());
  client = new RegistryClient({
    logger: new MemoryLogger(),
    env: { PATH: process.env.PATH, HOME: work },
    dockerConfigDir: emptyDockerConfig,
    explicitCredentials: {
      [basicReg.host]: { username: 'alice', password: PASSWORD },
      [tokenReg.host]: { username: 'alice', password: PASSWORD },
    },
  });
}, 30_000);

afterAll(async () => {
  await closeHttpPools();
  for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  if (work) await removeDir(work);
});

/** A fresh single-platform image (OCI layout), different every call. */
async function newLayout(randomBytes = 30_000): Promise<OciLayoutImage> {
  seq++;
  return writeOciLayout(join(work, `layout-${seq}`), { seed: `promote-${seq}`, randomBytes });
}

/** Puts the image of an OCI layout under `ref` with Kiln's core (the test's own pusher). */
async function seed(dir: string, ...refs: string[]): Promise<void> {
  const image = await openImageSource(dir);
  try {
    await pushImage(
      localImageSource(image),
      refs.map((r) => parseImageReference(r)),
      { client, allowOverwrite: true },
    );
  } finally {
    await image.close();
  }
}

/** An OCI layout holding a linux/amd64 + linux/arm64 index. */
async function indexLayout() {
  const dir = join(work, `index-${++seq}`);
  const images = [
    await writeOciLayout(join(dir, 'a'), { seed: `idx-${seq}-amd64`, randomBytes: 12_000 }),
    await writeOciLayout(join(dir, 'b'), { seed: `idx-${seq}-arm64`, randomBytes: 12_000 }),
  ];
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: images.map((img, i) => ({
        mediaType: OCI_MANIFEST,
        digest: img.manifest.digest,
        size: img.manifest.size,
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    }),
  );
  return { images, bytes, digest: sha256(bytes) };
}

/** Pushes an index (children first) with the client's primitives. */
async function seedIndex(registry: string, repository: string, tag: string) {
  const idx = await indexLayout();
  for (const img of idx.images) await seed(img.dir, `${registry}/${repository}@${img.manifest.digest}`);
  await client.putManifest({ registry, repository }, tag, { bytes: idx.bytes, mediaType: OCI_INDEX });
  return idx;
}

/** A signature-like artifact referring to `subject`, published with the `sha256-<hex>` tag schema. */
async function seedSignature(registry: string, repository: string, subject: string, subjectSize: number) {
  const repo = { registry, repository };
  const empty = Buffer.from('{}');
  const sig = Buffer.from(`signature of ${subject}`);
  for (const b of [empty, sig]) await client.uploadBlob(repo, { digest: sha256(b), size: b.length }, b);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: 'application/vnd.kiln.test.signature',
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: empty.length },
      layers: [{ mediaType: 'application/vnd.kiln.test.signature', digest: sha256(sig), size: sig.length }],
      subject: { mediaType: OCI_INDEX, digest: subject, size: subjectSize },
    }),
  );
  const digest = sha256(bytes);
  await client.putManifest(repo, digest, { bytes, mediaType: OCI_MANIFEST });
  const tagIndex = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest,
          size: bytes.length,
          artifactType: 'application/vnd.kiln.test.signature',
        },
      ],
    }),
  );
  await client.putManifest(repo, referrersTag(subject), { bytes: tagIndex, mediaType: OCI_INDEX });
  return digest;
}

const isolated = () => ({ DOCKER_CONFIG: emptyDockerConfig });

/** Requests other than reads seen by a proxy. */
const writes = (p: FaultProxy) => p.stats().log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD');

describe.each(runtimes())('promote bundle under $label', ({ label, node }) => {
  const p = label.replace(/\W/g, '');

  test('same repository: a new tag is GET + HEAD + PUT (≤ 3 requests), no blob traffic', async () => {
    const img = await newLayout();
    await seed(img.dir, `${open.host}/${p}/app:build-7`);
    proxy.resetStats();
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${proxy.host}/${p}/app:build-7`, tags: 'qa' },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const stats = proxy.stats();
    expect(stats.requests).toBeLessThanOrEqual(3);
    expect(Object.keys(stats.byRoute).sort()).toEqual([
      'GET /v2/:name/manifests/:ref',
      'HEAD /v2/:name/manifests/:ref',
      'PUT /v2/:name/manifests/:ref',
    ]);
    expect(Object.fromEntries(r.outputs)).toMatchObject({
      digest: img.manifest.digest,
      promoted: `${proxy.host}/${p}/app:qa`,
      image: `${proxy.host}/${p}/app@${img.manifest.digest}`,
      result: 'pushed',
    });
    expect(JSON.parse(r.outputs.get('results') as string)).toEqual([
      {
        ref: `${proxy.host}/${p}/app:qa`,
        action: 'pushed',
        mounted: 0,
        uploaded: 0,
        skipped: 0,
        bytes: 0,
        requests: 2,
      },
    ]);
    expect(r.summary).toContain(
      `## ✅ promoted ${img.manifest.digest.slice(0, 19)} to ${proxy.host}/${p}/app:qa`,
    );
    expect(r.summary).toContain(`| ${proxy.host}/${p}/app:qa | ✅ pushed | 0 B | 2 |`);
    expect(r.summary).toContain(`| ${proxy.host}/${p}/app:qa | 0 | 0 | 0 |`); // blobs: mounted, uploaded, skipped
    expect(r.summary).toContain(`${stats.requests} registry requests in total.`);
    expect(await rawHead(open.url, `${p}/app`, 'qa')).toBe(img.manifest.digest);
  });

  test('another repository of the same registry: every blob mounted, zero bytes uploaded or downloaded', async () => {
    const img = await newLayout(80_000);
    await seed(img.dir, `${open.host}/${p}/team-a:1.0`);
    proxy.resetStats();
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${proxy.host}/${p}/team-a:1.0`, targets: `${proxy.host}/${p}/team-b` },
    });
    expect(r.exitCode).toBe(0);
    const stats = proxy.stats();
    expect(stats.uploadedBytes).toBe(0);
    expect(stats.downloadedBytes).toBe(0);
    expect(stats.requests).toBe(5); // GET source, HEAD target, 2 mounts, PUT
    expect(r.outputs.get('promoted')).toBe(`${proxy.host}/${p}/team-b:1.0`); // the source's tag is kept
    expect(JSON.parse(r.outputs.get('results') as string)[0]).toMatchObject({
      mounted: 2,
      uploaded: 0,
      bytes: 0,
    });
    expect(await rawHead(open.url, `${p}/team-b`, '1.0')).toBe(img.manifest.digest);
  });

  test('another registry: a multi-arch index with every child and its signature, same digest at both targets (open + htpasswd)', async () => {
    const idx = await seedIndex(open.host, `${p}/multi`, '3.0');
    const sig = await seedSignature(open.host, `${p}/multi`, idx.digest, idx.bytes.length);
    proxy.resetStats();
    proxy2.resetStats();
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${proxy.host}/${p}/multi:3.0`,
        targets: `${proxy2.host}/${p}/multi\n${basicReg.host}/${p}/multi:3.0`,
        referrers: 'true',
        'registry-auth': `${basicReg.host}=alice:${PASSWORD}`,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(Object.fromEntries(r.outputs)).toMatchObject({
      digest: idx.digest,
      platforms: 'linux/amd64,linux/arm64',
      promoted: `${proxy2.host}/${p}/multi:3.0\n${basicReg.host}/${p}/multi:3.0`,
    });
    const results = JSON.parse(r.outputs.get('results') as string);
    expect(results[0]).toMatchObject({ action: 'pushed', uploaded: 4 + 2, referrers: 1 });
    const blobBytes = idx.images.reduce((n, i) => n + i.blobBytes, 0);
    expect(proxy2.stats().uploadedBytes).toBe(
      blobBytes + Buffer.from('{}').length + `signature of ${idx.digest}`.length,
    );
    expect(r.summary).toContain('| Referrers |');
    for (const [url, auth] of [
      [open2.url, undefined],
      [basicReg.url, basicAuth],
    ] as const) {
      expect(await rawHead(url, `${p}/multi`, '3.0', auth)).toBe(idx.digest);
      for (const img of idx.images)
        expect(await rawHead(url, `${p}/multi`, img.manifest.digest, auth)).toBe(img.manifest.digest);
      expect(await rawHead(url, `${p}/multi`, sig, auth)).toBe(sig);
      expect(await rawHead(url, `${p}/multi`, referrersTag(idx.digest), auth)).toBeDefined();
    }
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open2.host}/${p}/multi:3.0`,
    ]);
    expect(Buffer.from(raw.stdout).equals(idx.bytes)).toBe(true);
    expectNoLeak(r, [r.dir]);
  });

  test('expected-digest: a source tag that moved is refused before anything is written', async () => {
    const tested = await newLayout();
    const moved = await newLayout();
    await seed(moved.dir, `${open.host}/${p}/guard:latest`);
    proxy2.resetStats();
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${open.host}/${p}/guard:latest`,
        targets: `${proxy2.host}/${p}/guard:1.4.2`,
        'expected-digest': tested.manifest.digest,
      },
    });
    expect(oneErrorLine(r, 2)).toBe(
      `::error::refusing to copy ${open.host}/${p}/guard:latest: it now resolves to ${moved.manifest.digest}, not the expected ${tested.manifest.digest} (the source moved)`,
    );
    // Nothing was written: at most the read-only HEAD of the target tag, sent with the source read.
    expect(proxy2.stats().log.filter((e) => e.method !== 'HEAD')).toEqual([]);
    expect(proxy2.stats().uploadedBytes).toBe(0);
    expect(r.summary).toMatch(/^## ❌ promote failed: /m);

    const pinned = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${open.host}/${p}/guard:latest@${moved.manifest.digest}`,
        targets: `${open2.host}/${p}/guard:1.4.2`,
        'expected-digest': tested.manifest.digest,
      },
    });
    expect(onlyErrorLine(pinned)).toContain(
      `::error::Input 'expected-digest': is ${tested.manifest.digest}, but source names ${moved.manifest.digest}`,
    );
    expect(await rawHead(open2.url, `${p}/guard`, '1.4.2')).toBeUndefined();
  });

  test('a tag holding another digest is refused without allow-overwrite and moved with it; a dry run writes nothing', async () => {
    const a = await newLayout();
    const b = await newLayout();
    await seed(a.dir, `${open.host}/${p}/rel:candidate`);
    await seed(b.dir, `${open.host}/${p}/rel:1.0`);
    proxy.resetStats();
    const refused = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${proxy.host}/${p}/rel:candidate`, tags: '1.0' },
    });
    expect(oneErrorLine(refused, 2)).toBe(
      `::error::refusing to overwrite ${proxy.host}/${p}/rel:1.0: it holds ${b.manifest.digest}, not ${a.manifest.digest} (set allow-overwrite to true to move it)`,
    );
    expect(writes(proxy)).toEqual([]);
    expect(await rawHead(open.url, `${p}/rel`, '1.0')).toBe(b.manifest.digest);

    proxy.resetStats();
    const dry = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${proxy.host}/${p}/rel:candidate`,
        tags: '1.0\nstable',
        'allow-overwrite': 'true',
        'dry-run': 'true',
      },
    });
    expect(dry.exitCode).toBe(0);
    expect(dry.outputs.get('result')).toBe('dry-run');
    expect(dry.outputs.has('promoted')).toBe(false);
    expect(JSON.parse(dry.outputs.get('results') as string).map((d: { action: string }) => d.action)).toEqual(
      ['would-push', 'would-push'],
    );
    expect(dry.summary).toContain(
      `${proxy.host}/${p}/rel:1.0 holds ${b.manifest.digest} before (would be replaced: allow-overwrite)`,
    );
    expect(writes(proxy)).toEqual([]);
    expect(await rawHead(open.url, `${p}/rel`, 'stable')).toBeUndefined();

    const allowed = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${proxy.host}/${p}/rel:candidate`, tags: '1.0', 'allow-overwrite': 'true' },
    });
    expect(allowed.exitCode).toBe(0);
    expect(JSON.parse(allowed.outputs.get('results') as string)[0]).toMatchObject({
      action: 'pushed',
      previousDigest: b.manifest.digest,
    });
    expect(allowed.summary).toContain(
      `${proxy.host}/${p}/rel:1.0 held ${b.manifest.digest} before (replaced: allow-overwrite)`,
    );
    expect(await rawHead(open.url, `${p}/rel`, '1.0')).toBe(a.manifest.digest);
  });

  test('token auth: one token with the push scope of the target and the pull scope of the source', async () => {
    const img = await newLayout();
    await seed(img.dir, `${tokenReg.host}/${p}/src:1`);
    const ts = tokenReg.tokenServer!;
    ts.clearRequests();
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${tokenReg.host}/${p}/src:1`,
        targets: `${tokenReg.host}/${p}/dst:1`,
        username: 'alice',
        password: PASSWORD,
      },
    });
    expect(r.exitCode).toBe(0);
    expect(ts.requests()).toHaveLength(1);
    expect(ts.requests()[0]).toMatchObject({
      scopes: [`repository:${p}/dst:pull,push`, `repository:${p}/src:pull`],
      authenticated: true,
    });
    expect(JSON.parse(r.outputs.get('results') as string)[0]).toMatchObject({ mounted: 2, bytes: 0 });
    expectNoLeak(r, [r.dir]);
  });

  test('bad references and bad credentials: one line, exit 2, the password never printed', async () => {
    const badSource = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: 'registry.example.com/App:1', tags: '1.0' },
    });
    expect(onlyErrorLine(badSource)).toBe(
      "::error::Input 'source': invalid image reference 'registry.example.com/App:1': repository names must be lowercase ('App'; a registry host needs a '.' or a ':port', or must be 'localhost'); expected [registry[:port]/]repository[:tag][@digest], e.g. 'ghcr.io/org/app:1.2.3'",
    );
    const badTarget = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${open.host}/x/app:1`, targets: `${open.host}/x/app:` },
    });
    expect(onlyErrorLine(badTarget)).toContain(
      `::error::Input 'targets': invalid image reference '${open.host}/x/app:': ':' must be followed by a tag`,
    );
    const nothing = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${open.host}/x/app:1` },
    });
    expect(onlyErrorLine(nothing)).toBe(
      "::error::Input 'targets': is required unless tags is given; expected target references (e.g. ghcr.io/org/app:1.4.2) or tags for the source repository.",
    );
    const badDigest = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${open.host}/x/app:1`, tags: '2', 'expected-digest': 'sha256:abc' },
    });
    expect(onlyErrorLine(badDigest)).toContain(
      `::error::Input 'expected-digest': "sha256:abc" is not a digest`,
    );

    const img = await newLayout();
    await seed(img.dir, `${open.host}/${p}/creds:1`);
    const wrong = 'not-the-Pr0mote';
    const r = await runBundle('promote', {
      node,
      env: isolated(),
      with: {
        source: `${open.host}/${p}/creds:1`,
        targets: `${basicReg.host}/${p}/creds:1`,
        username: 'alice',
        password: wrong,
      },
    });
    expect(oneErrorLine(r, 2)).toContain(`::error::authentication failed for ${basicReg.host} (user alice)`);
    expectNoLeak(r, [r.dir], wrong);
    const missing = await runBundle('promote', {
      node,
      env: isolated(),
      with: { source: `${open.host}/${p}/nothing-here:1`, tags: '2' },
    });
    expect(oneErrorLine(missing, 2)).toContain(`${open.host}/${p}/nothing-here:1 not found`);
  });
});

describe('promote through the kiln CLI', () => {
  const cli = join(repoRoot, 'dist', 'cli', 'index.js');

  test("GitLab mode, the users' deploy-only job: image:latest tagged with the release version on the job's registry (CI_REGISTRY_* picked up)", async () => {
    const img = await newLayout();
    await seed(img.dir, `${basicReg.host}/group/app:latest`);
    const dir = await mkdtemp(join(work, 'gitlab-'));
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      DOCKER_CONFIG: emptyDockerConfig,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: dir,
      CI_REGISTRY: basicReg.host,
      CI_REGISTRY_USER: 'alice',
      CI_REGISTRY_PASSWORD: PASSWORD,
      KILN_PROMOTE_SOURCE: `${basicReg.host}/group/app:latest`,
      KILN_EXPECTED_DIGEST: img.manifest.digest,
    };
    const r = await runNode([cli, 'promote', '--tags', '2024.06.1'], { cwd: dir, env });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const dotenv = await readFile(join(dir, 'kiln.env'), 'utf8');
    expect(dotenv).toMatch(new RegExp(`^DIGEST=${img.manifest.digest}$`, 'm'));
    expect(dotenv).toMatch(new RegExp(`^PROMOTED=${basicReg.host}/group/app:2024\\.06\\.1$`, 'm'));
    expect(dotenv).toMatch(new RegExp(`^IMAGE=${basicReg.host}/group/app@${img.manifest.digest}$`, 'm'));
    expect(dotenv).toMatch(/^RESULT=pushed$/m);
    expect(await readFile(join(dir, 'kiln-summary.md'), 'utf8')).toContain(
      `| ${basicReg.host}/group/app:2024.06.1 |`,
    );
    expect(r.stdout).toContain(`✅ promoted ${img.manifest.digest.slice(0, 19)}`);
    expect(await rawHead(basicReg.url, 'group/app', '2024.06.1', basicAuth)).toBe(img.manifest.digest);
    expectNoLeak(r, [dir]);

    // An empty release version is refused (the users' job checks this by hand).
    const empty = await runNode([cli, 'promote', '--tags', ''], { cwd: dir, env });
    expect(empty.exitCode).toBe(2);
    expect(empty.stdout.trim()).toContain("Input 'targets': is required unless tags is given");
  });

  test('interop: an image skopeo pushed is promoted by Kiln to another registry, byte for byte', async () => {
    const img = await newLayout();
    const pushed = await skopeo.copyTo(img.ref, `docker://${open.host}/interop/skopeo:1`, {
      extra: ['--preserve-digests'],
    });
    expect(pushed.code).toBe(0);
    const r = await runNode(
      [
        cli,
        'promote',
        '--source',
        `${open.host}/interop/skopeo:1`,
        '--targets',
        `${open2.host}/interop/promoted:1`,
        '--json',
      ],
      { env: { PATH: process.env.PATH, HOME: work, DOCKER_CONFIG: emptyDockerConfig } },
    );
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      digest: img.manifest.digest,
      promoted: [`${open2.host}/interop/promoted:1`], // --json: a list output is an array
    });
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open2.host}/interop/promoted:1`,
    ]);
    expect(Buffer.from(raw.stdout).equals(img.manifest.bytes)).toBe(true);
  });
});
