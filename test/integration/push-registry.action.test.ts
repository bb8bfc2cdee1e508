/**
 * push-registry as users run it: the committed bundle under the runner contract (this machine's Node and Node 24)
 * and the CLI bundle in GitLab mode, against real registries (CNCF distribution: open, htpasswd, token auth) with
 * the counting proxy in front, and skopeo as the witness that what Kiln pushed is what it read.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const PASSWORD = 'wonderland-Pa55';
const expectNoLeak = (r: RunResult | ChildResult, dirs: string[], secret = PASSWORD) =>
  expectNoLeakOf(r, dirs, secret);
const USERS = { alice: PASSWORD };
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI layout holding a linux/amd64 + linux/arm64 index named `multi`. */
async function writeIndexLayout(dir: string, seed: string) {
  const images = [
    await writeOciLayout(join(dir, '.amd64'), { seed: `${seed}-amd64`, randomBytes: 16_000 }),
    await writeOciLayout(join(dir, '.arm64'), { seed: `${seed}-arm64`, randomBytes: 16_000 }),
  ];
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  for (const img of images)
    for (const b of [img.manifest, img.config, ...img.layers])
      await writeFile(join(blobs, b.digest.slice(7)), b.bytes);
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
  const digest = sha256(bytes);
  await writeFile(join(blobs, digest.slice(7)), bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_INDEX,
          digest,
          size: bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': 'multi' },
        },
      ],
    }),
  );
  for (const sub of ['.amd64', '.arm64']) await rm(join(dir, sub), { recursive: true });
  return { dir, bytes, digest, children: images.map((i) => i.manifest.digest) };
}

const basicAuth = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

let open: RunningRegistry;
let open2: RunningRegistry;
let basicReg: RunningRegistry;
let tokenReg: RunningRegistry;
let proxy: FaultProxy;
let skopeo: Skopeo;
let work: string;
let emptyDockerConfig: string;
let layout: OciLayoutImage;
let ociArchive: string;
let dockerArchive: string;
let multi: Awaited<ReturnType<typeof writeIndexLayout>>;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!registryAvailable() || !skopeoAvailable())
    throw new Error(
      'push-registry tests need docker-registry and skopeo (apt-get install docker-registry skopeo)',
    );
  work = await mkdtemp(join(tmpdir(), 'kiln-push-'));
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
  cleanups.push(() => proxy.close());
  skopeo = await createSkopeo();
  cleanups.push(() => skopeo.close());
  layout = await writeOciLayout(join(work, 'layout'), { seed: 'push', randomBytes: 40_000 });
  ociArchive = join(work, 'image.oci.tar');
  dockerArchive = join(work, 'image.docker.tar');
  await skopeo.run(['copy', '-q', layout.ref, `oci-archive:${ociArchive}:v1`]);
  await skopeo.run(['copy', '-q', layout.ref, `docker-archive:${dockerArchive}:app:v1`]);
  multi = await writeIndexLayout(join(work, 'multi'), 'push-multi');
}, 30_000);

afterAll(async () => {
  for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  if (work) await removeDir(work);
});

/** A workspace with the single-image layout at build/oci and the archives at build/. */
async function workspace(): Promise<string> {
  const ws = await mkdtemp(join(work, 'ws-'));
  await cp(layout.dir, join(ws, 'build', 'oci'), { recursive: true });
  await cp(ociArchive, join(ws, 'build', 'image.oci.tar'));
  await cp(dockerArchive, join(ws, 'build', 'image.docker.tar'));
  return ws;
}

const isolated = () => ({ DOCKER_CONFIG: emptyDockerConfig });

describe.each(runtimes())('push-registry bundle under $label', ({ label, node }) => {
  const p = label.replace(/\W/g, '');

  test('an OCI layout to two registries at once (open + htpasswd), two tags; skopeo reads the same bytes; a re-run is unchanged and uploads nothing', async () => {
    const ws = await workspace();
    proxy.resetStats();
    const r = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: {
        source: 'build/oci',
        destinations: `${proxy.host}/${p}/app\n${basicReg.host}/${p}/app`,
        tags: '1.0, latest',
        username: 'alice',
        password: PASSWORD,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const digest = layout.manifest.digest;
    expect(Object.fromEntries(r.outputs)).toMatchObject({
      digest,
      result: 'pushed',
      platforms: '',
      image: `${proxy.host}/${p}/app@${digest}\n${basicReg.host}/${p}/app@${digest}`,
      tags: [
        `${proxy.host}/${p}/app:1.0`,
        `${proxy.host}/${p}/app:latest`,
        `${basicReg.host}/${p}/app:1.0`,
        `${basicReg.host}/${p}/app:latest`,
      ].join('\n'),
      'bytes-uploaded': String(2 * layout.blobBytes),
    });
    const results = JSON.parse(r.outputs.get('results') as string);
    expect(results.map((d: { action: string }) => d.action)).toEqual([
      'pushed',
      'pushed',
      'pushed',
      'pushed',
    ]);
    expect(results[0]).toMatchObject({ uploaded: 2, bytes: layout.blobBytes, mounted: 0 });
    expect(results[1]).toMatchObject({ uploaded: 0, bytes: 0 }); // same repository: content shared
    // The proxy saw exactly the blob bytes of one repository, and no GET of anything.
    expect(proxy.stats().uploadedBytes).toBe(layout.blobBytes);
    expect(r.summary).toContain(`## ✅ pushed ${digest.slice(0, 19)} to 4 destinations; `);
    expect(r.summary).toContain('| Destination | Action | Uploaded | Requests |');
    expect(r.summary).toContain(`| ${proxy.host}/${p}/app:1.0 | ✅ pushed | `);
    // Blob counts in the details block: mounted, uploaded, skipped.
    expect(r.summary).toContain('| Destination | Mounted | Uploaded | Skipped | Manifests |');
    expect(r.summary).toContain(`| ${proxy.host}/${p}/app:1.0 | 0 | 2 | 0 |`);
    expect(r.summary).toContain(`Source: oci-layout:${ws}/build/oci:latest — ${digest}`);
    for (const tag of ['1.0', 'latest']) {
      expect(await rawHead(open.url, `${p}/app`, tag)).toBe(digest);
      expect(await rawHead(basicReg.url, `${p}/app`, tag, basicAuth)).toBe(digest);
    }
    // Interop: skopeo reads back the exact manifest bytes.
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `alice:${PASSWORD}`,
      `docker://${basicReg.host}/${p}/app:1.0`,
    ]);
    expect(Buffer.from(raw.stdout).equals(layout.manifest.bytes)).toBe(true);
    expect(r.stdout).toContain(`::add-mask::${PASSWORD}`);
    expectNoLeak(r, [ws, r.dir]);

    // Idempotent: the same digest is already there, so nothing is written (ECR's immutable tags stay happy).
    proxy.resetStats();
    const again = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: {
        source: 'build/oci',
        destinations: `${proxy.host}/${p}/app\n${basicReg.host}/${p}/app`,
        tags: '1.0, latest',
        username: 'alice',
        password: PASSWORD,
        'allow-overwrite': 'false',
      },
    });
    expect(again.exitCode).toBe(0);
    expect(again.outputs.get('result')).toBe('unchanged');
    expect(again.outputs.get('bytes-uploaded')).toBe('0');
    expect(again.outputs.get('digest')).toBe(digest);
    const stats = proxy.stats();
    expect(stats.uploadedBytes).toBe(0);
    expect(stats.log.map((e) => e.method)).toEqual(['HEAD', 'HEAD']);
    expect(again.summary).toContain(`| ${proxy.host}/${p}/app:latest | ➖ unchanged | 0 B | 1 |`);
    expect(again.summary).toContain(
      `## ✅ unchanged: all 4 destinations already hold ${digest.slice(0, 19)}`,
    );
  });

  test('archives written by skopeo: oci-archive keeps the layout digest, docker-archive is pushed as skopeo reads it', async () => {
    const ws = await workspace();
    const oci = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: { source: 'oci-archive:build/image.oci.tar', destinations: `${open2.host}/${p}/archived:oci` },
    });
    expect(oci.exitCode).toBe(0);
    expect(oci.outputs.get('digest')).toBe(layout.manifest.digest);
    expect(await rawHead(open2.url, `${p}/archived`, 'oci')).toBe(layout.manifest.digest);

    const docker = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: { source: 'build/image.docker.tar', destinations: `${open2.host}/${p}/archived:docker` },
    });
    expect(docker.exitCode).toBe(0);
    const digest = docker.outputs.get('digest') as string;
    expect(docker.summary).toContain(
      `Source: docker-archive:${ws}/build/image.docker.tar:docker.io/library/app:v1 — ${digest}`,
    );
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open2.host}/${p}/archived:docker`,
    ]);
    expect(sha256(Buffer.from(raw.stdout))).toBe(digest);
    expect(JSON.parse(raw.stdout).mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });

  test('a multi-arch index from a layout: every child pushed, the index digest kept; a registry source and a dry run', async () => {
    const r = await runBundle('push-registry', {
      node,
      env: isolated(),
      with: { source: `oci:${multi.dir}:multi`, destinations: `${open.host}/${p}/multi:2.0` },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('digest')).toBe(multi.digest);
    expect(r.outputs.get('platforms')).toBe('linux/amd64,linux/arm64');
    expect(JSON.parse(r.outputs.get('results') as string)[0]).toMatchObject({ uploaded: 4 });
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open.host}/${p}/multi:2.0`,
    ]);
    expect(Buffer.from(raw.stdout).equals(multi.bytes)).toBe(true);
    for (const child of multi.children) expect(await rawHead(open.url, `${p}/multi`, child)).toBe(child);

    // From a registry: the untagged destination keeps the source's tag.
    const copy = await runBundle('push-registry', {
      node,
      env: isolated(),
      with: {
        source: `docker://${open.host}/${p}/multi:2.0`,
        destinations: `${open2.host}/${p}/copied`,
      },
    });
    expect(copy.exitCode).toBe(0);
    expect(copy.outputs.get('tags')).toBe(`${open2.host}/${p}/copied:2.0`);
    expect(await rawHead(open2.url, `${p}/copied`, '2.0')).toBe(multi.digest);

    // A dry run reads, plans and writes nothing.
    const before = await rawHead(open2.url, `${p}/dry`, '1');
    const dry = await runBundle('push-registry', {
      node,
      env: isolated(),
      with: { source: `oci:${multi.dir}`, destinations: `${open2.host}/${p}/dry:1`, 'dry-run': 'true' },
    });
    expect(dry.exitCode).toBe(0);
    expect(dry.outputs.get('result')).toBe('dry-run');
    expect(dry.outputs.has('image')).toBe(false);
    expect(JSON.parse(dry.outputs.get('results') as string)[0]).toMatchObject({
      action: 'would-push',
      uploaded: 4,
    });
    expect(dry.summary).toContain('🔍 dry run, nothing written');
    expect(before).toBeUndefined();
    expect(await rawHead(open2.url, `${p}/dry`, '1')).toBeUndefined();
    expect(await rawHead(open2.url, `${p}/dry`, multi.digest)).toBeUndefined();
  });

  test('token auth: pushed with one token carrying the push scope', async () => {
    const ws = await workspace();
    const ts = tokenReg.tokenServer!;
    ts.clearRequests();
    const r = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: {
        source: 'build/oci',
        destinations: `${tokenReg.host}/${p}/tok:1`,
        'registry-auth': `${tokenReg.host}=alice:${PASSWORD}`,
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('digest')).toBe(layout.manifest.digest);
    expect(ts.requests()[0]).toMatchObject({
      scopes: [`repository:${p}/tok:pull,push`],
      authenticated: true,
    });
    expectNoLeak(r, [ws, r.dir]);
  });

  test('bad references and bad credentials: one line, exit 2, the password never printed', async () => {
    const ws = await workspace();
    const badRef = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: { source: 'build/oci', destinations: `${open.host}/Team/App:1` },
    });
    expect(badRef.exitCode).toBe(2);
    expect(onlyErrorLine(badRef)).toBe(
      `::error::Input 'destinations': invalid image reference '${open.host}/Team/App:1': repository names must be lowercase ('Team/App'; a registry host needs a '.' or a ':port', or must be 'localhost'); expected [registry[:port]/]repository[:tag][@digest], e.g. 'ghcr.io/org/app:1.2.3'`,
    );
    const badTag = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: { source: 'build/oci', destinations: `${open.host}/x/app`, tags: 'v1, -bad' },
    });
    expect(onlyErrorLine(badTag)).toContain(`::error::Input 'tags': "-bad" is not a valid tag`);
    const noSource = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: { source: './missing/layout', destinations: `${open.host}/x/app:1` },
    });
    expect(onlyErrorLine(noSource)).toMatch(
      /^::error::Input 'source': image source '.*missing\/layout' does not exist$/,
    );

    const wrong = 'not-the-Pa55word';
    const r = await runBundle('push-registry', {
      node,
      workspace: ws,
      env: isolated(),
      with: {
        source: 'build/oci',
        destinations: `${basicReg.host}/${p}/denied:1`,
        username: 'alice',
        password: wrong,
      },
    });
    expect(r.exitCode).toBe(2);
    const line = oneErrorLine(r, 2);
    expect(line).toContain(`authentication failed for ${basicReg.host} (user alice)`);
    expect(r.stdout).not.toContain(`::error::${wrong}`);
    const printed = r.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(printed + r.stderr + r.summary).not.toContain(wrong);
    expect(r.summary).toMatch(/^## ❌ push-registry failed: /m);
    expect(await rawHead(basicReg.url, `${p}/denied`, '1', basicAuth)).toBeUndefined();
  });
});

describe('push-registry: docker config, one deadline, cancellation', () => {
  test('credentials from a docker config.json given as docker-config; the password from it is masked too', async () => {
    const ws = await workspace();
    await mkdir(join(ws, 'cfg'));
    const auth = Buffer.from(`alice:${PASSWORD}`).toString('base64');
    await writeFile(join(ws, 'cfg', 'config.json'), JSON.stringify({ auths: { [basicReg.host]: { auth } } }));
    const r = await runBundle('push-registry', {
      workspace: ws,
      env: isolated(),
      with: { source: 'build/oci', destinations: `${basicReg.host}/cfg/app:1`, 'docker-config': 'cfg' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`::add-mask::${PASSWORD}`);
    expect(await rawHead(basicReg.url, 'cfg/app', '1', basicAuth)).toBe(layout.manifest.digest);
    expectNoLeak(r, [r.dir]);
  });

  test('timeout is one deadline for the whole push: past it the step fails in one line and no tag is written', async () => {
    proxy.setLatency(700);
    try {
      const r = await runBundle('push-registry', {
        env: isolated(),
        with: { source: `oci:${layout.dir}`, destinations: `${proxy.host}/slow/app:1`, timeout: '1s' },
      });
      expect(r.exitCode).toBe(1);
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
      expect(errors).toEqual([
        "::error::push-registry failed: timed out after 1.00s (input 'timeout'); nothing was written after that point",
      ]);
    } finally {
      proxy.setLatency(0);
    }
    expect(await rawHead(open.url, 'slow/app', '1')).toBeUndefined();
  });

  test('SIGTERM while pushing: exit 143, no tag written', async () => {
    proxy.setLatency(300);
    try {
      const r = await runBundle('push-registry', {
        env: isolated(),
        with: { source: `oci:${layout.dir}`, destinations: `${proxy.host}/cancelled/app:1` },
        signalWhen: { text: 'Pushing ', signal: 'SIGTERM' },
      });
      expect(r.exitCode).toBe(143);
      expect(r.stdout).toContain('push-registry was cancelled (SIGTERM)');
    } finally {
      proxy.setLatency(0);
    }
    expect(await rawHead(open.url, 'cancelled/app', '1')).toBeUndefined();
  });
});

describe('push-registry through the kiln CLI', () => {
  const cli = join(repoRoot, 'dist', 'cli', 'index.js');

  test('GitLab mode: CI_REGISTRY credentials and CI_REGISTRY_IMAGE are used; the dotenv carries DIGEST, IMAGE, TAGS', async () => {
    const ws = await workspace();
    const r = await runNode(
      [cli, 'push-registry', '--source', 'build/image.oci.tar', '--tags', '1.0,sha-0123abc'],
      {
        cwd: ws,
        env: {
          PATH: process.env.PATH,
          HOME: work,
          DOCKER_CONFIG: emptyDockerConfig,
          GITLAB_CI: 'true',
          CI_PROJECT_DIR: ws,
          CI_REGISTRY: basicReg.host,
          CI_REGISTRY_IMAGE: `${basicReg.host}/group/project`,
          CI_REGISTRY_USER: 'alice',
          CI_REGISTRY_PASSWORD: PASSWORD,
        },
      },
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const dotenv = await readFile(join(ws, 'kiln.env'), 'utf8');
    const digest = layout.manifest.digest;
    expect(dotenv).toMatch(new RegExp(`^DIGEST=${digest}$`, 'm'));
    expect(dotenv).toContain(`IMAGE=${basicReg.host}/group/project@${digest}\n`);
    expect(dotenv).toContain(
      `TAGS=${basicReg.host}/group/project:1.0\\n${basicReg.host}/group/project:sha-0123abc\n`,
    );
    expect(dotenv).toMatch(/^RESULT=pushed$/m);
    expect(r.stdout).toContain('No destinations given: pushing to $CI_REGISTRY_IMAGE');
    expect(await readFile(join(ws, 'kiln-summary.md'), 'utf8')).toContain('| Destination | Action |');
    expect(await rawHead(basicReg.url, 'group/project', 'sha-0123abc', basicAuth)).toBe(digest);
    expectNoLeak(r, [ws]);
  });

  test('terminal: --json prints only the outputs; a bad reference is one line on stderr', async () => {
    const env = { PATH: process.env.PATH, HOME: work, DOCKER_CONFIG: emptyDockerConfig, COLUMNS: '1000' };
    const r = await runNode(
      [
        cli,
        'push-registry',
        '--source',
        `oci:${layout.dir}`,
        '--destinations',
        `${open2.host}/term/app:1`,
        '--json',
      ],
      { env },
    );
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ digest: layout.manifest.digest, result: 'pushed' });
    const bad = await runNode(
      [cli, 'push-registry', '--source', `oci:${layout.dir}`, '--destinations', 'http://x/app'],
      {
        env,
      },
    );
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(
        "Input 'destinations': invalid image reference 'http://x/app': it must not start with a URL scheme ('http://'); write just 'x/app'",
      ),
    ]);
  });
});
