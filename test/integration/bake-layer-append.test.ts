/**
 * layer-append (packages/core/src/bake/) against real registries (CNCF distribution), through the counting,
 * fault-injecting proxy, with skopeo as the independent reader and buildah as the proof that the result runs:
 * new layers on top of a base that never leaves its registry, the config set from inputs, per platform of a
 * multi-arch base, Docker media types kept, tags written last, reproducible digests, an OCI layout output.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, chmod, mkdir, mkdtemp, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { appendLayers, type AppendLayersOptions } from '../../packages/core/src/bake/layer-append.js';
import { buildLayer } from '../../packages/core/src/bake/layer.js';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference, type ImageReference } from '../../packages/core/src/image/reference.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  CopyRefusedError,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  localImageSource,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
  pushImage,
  RegistryClient,
  type RegistryClientOptions,
  type RepositoryRef,
} from '../../packages/core/src/registry/index.js';
import { startFaultProxy, type FaultProxy, type ProxyStats } from '../sim/registry/fault-proxy.js';
import { tarFiles } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { exec, removeDir, which } from '../sim/registry/util.js';

/** What skopeo prints, read loosely: the assertions check the shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ref = (s: string): ImageReference => parseImageReference(s);

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const BASE_CREATED = '2024-01-02T03:04:05Z';

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}
/** A test image: a manifest (or an index of `children`) and its blobs. */
interface Img {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  config?: Blob;
  layers: Blob[];
  diffIds: string[];
  children: Img[];
}

const blobOf = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

/** A base image: `layers` gzip layers of random data, a config with Env, Cmd, Labels and a port. */
function baseImage(
  seed: string,
  opts: { docker?: boolean; arch?: string; layers?: number; tars?: Buffer[]; config?: object } = {},
): Img {
  const tars =
    opts.tars ??
    Array.from({ length: opts.layers ?? 2 }, (_, i) =>
      tarFiles({ [`base-${i}.txt`]: `${seed} ${i}\n`, [`noise-${i}.bin`]: randomBytes(48 * 1024) }),
    );
  const layerType = opts.docker ? DOCKER_LAYER : OCI_LAYER;
  const layers = tars.map((t) => blobOf(layerType, gzipSync(t)));
  const diffIds = tars.map(sha256);
  const config = blobOf(
    opts.docker ? DOCKER_CONFIG : OCI_CONFIG,
    Buffer.from(
      JSON.stringify({
        architecture: opts.arch ?? 'amd64',
        os: 'linux',
        created: BASE_CREATED,
        config: opts.config ?? {
          Env: ['PATH=/usr/bin:/bin', 'LANG=C'],
          Cmd: ['/bin/sh'],
          WorkingDir: '/',
          Labels: { base: seed, keep: '1' },
          ExposedPorts: { '22/tcp': {} },
        },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: diffIds.map((_, i) => ({ created: BASE_CREATED, created_by: `base layer ${i}` })),
      }),
    ),
  );
  const mediaType = opts.docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { bytes, digest: sha256(bytes), mediaType, config, layers, diffIds, children: [] };
}

/** An index (or Docker manifest list) of one base image per architecture. */
function baseIndex(seed: string, archs: string[], opts: { docker?: boolean } = {}): Img {
  const children = archs.map((arch) => baseImage(`${seed}-${arch}`, { arch, docker: opts.docker }));
  const mediaType = opts.docker ? DOCKER_MANIFEST_LIST : OCI_INDEX;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.bytes.length,
        platform: { architecture: archs[i], os: 'linux' },
      })),
    }),
  );
  return { bytes, digest: sha256(bytes), mediaType, layers: [], diffIds: [], children };
}

/** Pushes a test image with the client's primitives. */
async function push(
  client: RegistryClient,
  repo: RepositoryRef,
  tag: string | undefined,
  img: Img,
): Promise<void> {
  for (const c of img.children) await push(client, repo, undefined, c);
  for (const b of [...(img.config ? [img.config] : []), ...img.layers])
    await client.uploadBlob(repo, b, b.bytes);
  await client.putManifest(repo, tag ?? img.digest, img);
}

/** The application directory of the tests: odd modes, a symlink, nested directories, a long name. */
/** Incompressible, and the same in every copy of the directory. */
const APP_BLOB = randomBytes(96 * 1024);
const LONG = `${'deep'.repeat(10)}/${'nested'.repeat(8)}/a-file-name-long-enough-to-need-a-pax-header.txt`;
async function appDir(dir: string, mtime: number): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'static/css/x/y'), { recursive: true });
  await mkdir(join(dir, LONG, '..'), { recursive: true });
  await writeFile(join(dir, 'bin/server'), '#!/bin/sh\necho serving\n');
  await writeFile(join(dir, 'app.conf'), 'mode=prod\n');
  await writeFile(join(dir, 'secret.key'), 'not really\n');
  await writeFile(join(dir, 'static/css/x/y/site.css'), 'body { color: #333 }\n');
  await writeFile(join(dir, 'static/blob.bin'), APP_BLOB);
  await writeFile(join(dir, LONG), 'long\n');
  await symlink('bin/server', join(dir, 'current'));
  await chmod(join(dir, 'bin/server'), 0o4755);
  await chmod(join(dir, 'app.conf'), 0o640);
  await chmod(join(dir, 'secret.key'), 0o600);
  for (const p of ['bin/server', 'app.conf', 'secret.key', 'static/blob.bin', LONG, 'bin', 'static']) {
    await utimes(join(dir, p), mtime, mtime);
  }
  return dir;
}

const CONFIG: NonNullable<AppendLayersOptions['config']> = {
  env: { PATH: '/app/bin:/usr/bin:/bin', APP_MODE: 'prod' },
  entrypoint: ['/app/bin/server'],
  cmd: ['--port', '8080'],
  workdir: '/app',
  user: '1000:1000',
  labels: { 'org.opencontainers.image.source': 'https://example.com/app', keep: '2' },
  exposedPorts: ['8080', '9090/udp'],
};

/** Proxy log entries that fetched (GET) one of these blobs. */
const blobGets = (stats: ProxyStats, digests: string[]) =>
  stats.log.filter((e) => e.method === 'GET' && digests.some((d) => e.path.endsWith(`/blobs/${d}`)));
/** Uploads that committed this blob (the PUT carrying `digest=`). */
const uploadsOf = (stats: ProxyStats, digest: string) =>
  stats.log.filter(
    (e) =>
      e.method === 'PUT' && e.path.includes('/blobs/uploads/') && e.path.includes(encodeURIComponent(digest)),
  );

describe('bake: layer-append (docker-registry, skopeo, buildah)', () => {
  let reg: RunningRegistry;
  let other: RunningRegistry;
  /** In front of `reg`. */
  let proxy: FaultProxy;
  let skopeo: Skopeo;
  let work: string;
  let emptyConfig: string;
  let seq = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  const newClient = (extra: Partial<RegistryClientOptions> = {}) => {
    const logger = new MemoryLogger(true);
    const client = new RegistryClient({
      logger,
      env: { PATH: process.env.PATH, HOME: work },
      dockerConfigDir: emptyConfig,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...extra,
    });
    return { client, logger };
  };
  const fresh = async (name: string) => mkdtemp(join(work, `${name}-`));
  /** The digest a tag points at (raw, not through Kiln), or undefined. */
  const rawHead = async (reg: { url: string }, repo: string, reference: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? '') : undefined;
  };
  const inspect = async (image: string, what: '--raw' | '--config') =>
    JSON.parse((await skopeo.run(['inspect', '--tls-verify=false', what, image])).stdout) as Loose;

  beforeAll(async () => {
    const missing = [
      registryAvailable() ? undefined : 'docker-registry',
      skopeoAvailable() ? undefined : 'skopeo',
      which('tar') ? undefined : 'tar',
    ].filter(Boolean);
    if (missing.length > 0) throw new Error(`layer-append tests need ${missing.join(', ')}`);
    work = await mkdtemp(join(tmpdir(), 'kiln-bake-'));
    emptyConfig = join(work, 'docker-empty');
    await mkdir(emptyConfig);
    const started = [startRegistry({ logLevel: 'error' }), startRegistry({ logLevel: 'error' })] as const;
    const settled = await Promise.allSettled(started);
    for (const s of settled) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
    [reg, other] = await Promise.all(started);
    proxy = await startFaultProxy(reg.url);
    cleanups.push(() => proxy.close());
    skopeo = await createSkopeo();
    cleanups.push(() => skopeo.close());
  }, 30_000);

  afterAll(async () => {
    await closeHttpPools();
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    if (work) await removeDir(work);
  });

  test('a directory layer on a base in the same registry: config from inputs, base layers mounted, never downloaded', async () => {
    const { client, logger } = newClient();
    const base = baseImage(`b${++seq}`);
    await push(client, { registry: proxy.host, repository: 'base/app' }, '1', base);
    const app = await appDir(await fresh('app'), 1_600_000_000);

    proxy.resetStats();
    const r = await appendLayers({
      client,
      base: ref(`${proxy.host}/base/app:1`),
      target: ref(`${proxy.host}/bake/app:v1`),
      layers: [{ directory: app, destination: '/app' }],
      config: CONFIG,
    });
    const stats = proxy.stats();
    const layer = r.layers[0]!;

    // No base layer crossed the wire: mounted into bake/app; the only blob read is the base config.
    expect(
      blobGets(
        stats,
        base.layers.map((l) => l.digest),
      ),
    ).toEqual([]);
    expect(stats.byRoute['GET /v2/:name/blobs/:digest']).toBe(1);
    expect(stats.downloadedBytes).toBe(base.config!.size);
    expect(stats.byRoute['POST /v2/:name/blobs/uploads/']).toBe(2 + 2); // 2 mounts + 2 uploads (layer, config)
    expect(r.baseLayers).toEqual({ mounted: 2, present: 0, copied: 0, bytesCopied: 0 });
    // What was uploaded: the new layer and the new config, nothing else.
    const configBytes = (await inspect(`docker://${proxy.host}/bake/app:v1`, '--raw')).config.size as number;
    expect(r.bytesUploaded).toBe(layer.size + configBytes);
    expect(stats.uploadedBytes).toBe(layer.size + configBytes);
    expect(r.blobsUploaded).toBe(2);
    expect(r.requests).toBe(stats.requests);
    expect(r.target).toEqual({
      repository: `${proxy.host}/bake/app`,
      action: 'pushed',
      tags: [{ tag: 'v1', action: 'pushed' }],
    });
    expect(logger.lines.join('\n')).toContain('layer directory');

    // The manifest, as skopeo reads it.
    const manifest = await inspect(`docker://${proxy.host}/bake/app:v1`, '--raw');
    expect(
      sha256(
        Buffer.from(
          (await skopeo.run(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/bake/app:v1`]))
            .stdout,
        ),
      ),
    ).toBe(r.digest);
    expect(manifest.mediaType).toBe(OCI_MANIFEST);
    expect(manifest.config.mediaType).toBe(OCI_CONFIG);
    expect(manifest.layers).toEqual([
      ...base.layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest, size: l.size })),
      { mediaType: OCI_LAYER, digest: layer.digest, size: layer.size },
    ]);
    expect(manifest.annotations).toEqual({ 'org.opencontainers.image.base.digest': base.digest });

    // The config: inputs applied, base kept where not overridden, diff_ids and history appended.
    const config = await inspect(`docker://${proxy.host}/bake/app:v1`, '--config');
    expect(config.config).toEqual({
      Env: ['PATH=/app/bin:/usr/bin:/bin', 'LANG=C', 'APP_MODE=prod'],
      Cmd: ['--port', '8080'],
      WorkingDir: '/app',
      Labels: { base: `b${seq}`, keep: '2', 'org.opencontainers.image.source': 'https://example.com/app' },
      ExposedPorts: { '22/tcp': {}, '8080/tcp': {}, '9090/udp': {} },
      Entrypoint: ['/app/bin/server'],
      User: '1000:1000',
    });
    expect(config.created).toBe(BASE_CREATED);
    expect(config.rootfs.diff_ids).toEqual([...base.diffIds, layer.diffId]);
    expect(config.history).toHaveLength(3);
    expect(config.history[2]).toEqual({
      created: BASE_CREATED,
      created_by: `kiln layer-append directory ${layer.diffId} in /app`,
    });

    // The layer, fetched raw: its diff_id is the sha256 of its tar, and GNU tar reads what the tests put in.
    const blob = Buffer.from(
      await (await fetch(`${reg.url}/v2/bake/app/blobs/${layer.digest}`)).arrayBuffer(),
    );
    expect(sha256(blob)).toBe(layer.digest);
    const tar = gunzipSync(blob);
    expect(sha256(tar)).toBe(layer.diffId);
    const tarPath = join(work, `layer-${seq}.tar`);
    await writeFile(tarPath, tar);
    const listing = (
      await exec('tar', ['-tvf', tarPath, '--numeric-owner', '--full-time'], {
        env: { ...process.env, TZ: 'UTC' },
      })
    ).stdout;
    const lines = listing.trim().split('\n');
    expect(lines.map((l) => l.slice(l.indexOf(' 1970-01-01 00:00:00 ') + 21))).toEqual([
      'app/',
      'app/app.conf',
      'app/bin/',
      'app/bin/server',
      'app/current -> bin/server',
      `app/${LONG.split('/')[0]}/`,
      `app/${LONG.split('/').slice(0, 2).join('/')}/`,
      `app/${LONG}`,
      'app/secret.key',
      'app/static/',
      'app/static/blob.bin',
      'app/static/css/',
      'app/static/css/x/',
      'app/static/css/x/y/',
      'app/static/css/x/y/site.css',
    ]);
    expect(lines.every((l) => / 0\/0 /.test(l))).toBe(true);
    expect(lines.find((l) => l.endsWith('app/bin/server'))).toMatch(/^-rwsr-xr-x /);
    expect(lines.find((l) => l.endsWith('app/app.conf'))).toMatch(/^-rw-r----- /);
    expect(lines.find((l) => l.endsWith('app/secret.key'))).toMatch(/^-rw------- /);

    // An independent client copies the whole image (every blob verified against its digest).
    await skopeo.run([
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/bake/app:v1`,
      `oci:${join(work, `copy-${seq}`)}:v1`,
    ]);
  });

  test('reproducible: fresh copies of the inputs (other mtimes) give the same digest; a re-run changes nothing', async () => {
    const { client } = newClient();
    const base = baseImage(`r${++seq}`);
    await push(client, { registry: reg.host, repository: 'base/repro' }, '1', base);
    const run = async (mtime: number, target: string) =>
      appendLayers({
        client,
        base: ref(`${proxy.host}/base/repro:1`),
        target: ref(target),
        layers: [{ directory: await appDir(await fresh('repro'), mtime), destination: '/app' }],
        config: CONFIG,
      });
    const a = await run(1_000_000_000, `${proxy.host}/bake/repro:a`);
    const b = await run(1_700_000_000, `${proxy.host}/bake/repro-other:b`);
    expect(b.digest).toBe(a.digest);
    const content = (l: (typeof a.layers)[number]) => ({ ...l, source: undefined });
    expect(b.layers.map(content)).toEqual(a.layers.map(content));

    // Again into a tag that holds the result: looked at, nothing written.
    proxy.resetStats();
    const again = await run(1_234_567_890, `${proxy.host}/bake/repro:a`);
    expect(again.digest).toBe(a.digest);
    expect(again.target?.action).toBe('unchanged');
    const stats = proxy.stats();
    expect(stats.byRoute['PUT /v2/:name/manifests/:ref']).toBeUndefined();
    expect(stats.uploadedBytes).toBe(0);

    // Other inputs into the same tag: refused before anything is written, the tag keeps the first result.
    proxy.resetStats();
    await expect(
      appendLayers({
        client,
        base: ref(`${proxy.host}/base/repro:1`),
        target: ref(`${proxy.host}/bake/repro:a`),
        layers: [{ directory: await appDir(await fresh('repro'), 0), destination: '/srv' }],
      }),
    ).rejects.toThrow(CopyRefusedError);
    expect(proxy.stats().uploadedBytes).toBe(0);
    expect(await rawHead(reg, 'bake/repro', 'a')).toBe(a.digest);
  });

  test('a multi-arch base: every platform gets the layer, uploaded once; a platform filter narrows the index', async () => {
    const { client } = newClient();
    const index = baseIndex(`m${++seq}`, ['amd64', 'arm64']);
    await push(client, { registry: reg.host, repository: 'base/multi' }, '1', index);
    const app = await appDir(await fresh('multi'), 1_600_000_000);

    proxy.resetStats();
    const r = await appendLayers({
      client,
      base: ref(`${proxy.host}/base/multi:1`),
      target: ref(`${proxy.host}/bake/multi:1`),
      layers: [{ directory: app, destination: '/app' }],
      config: { env: { MULTI: 'yes' } },
      annotations: { 'org.opencontainers.image.version': '1.0.0' },
    });
    const stats = proxy.stats();
    const layer = r.layers[0]!;
    expect(r.mediaType).toBe(OCI_INDEX);
    expect(r.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(uploadsOf(stats, layer.digest)).toHaveLength(1);
    const baseLayers = index.children.flatMap((c) => c.layers.map((l) => l.digest));
    expect(blobGets(stats, baseLayers)).toEqual([]);
    expect(stats.byRoute['GET /v2/:name/blobs/:digest']).toBe(2); // the two configs
    expect(r.baseLayers.mounted).toBe(4);
    expect(stats.uploadedBytes).toBe(r.bytesUploaded);
    expect(r.bytesUploaded - layer.size).toBeLessThan(4096); // the rest: two small configs

    const top = await inspect(`docker://${reg.host}/bake/multi:1`, '--raw');
    expect(top.mediaType).toBe(OCI_INDEX);
    expect(top.annotations).toEqual({
      'org.opencontainers.image.base.digest': index.digest,
      'org.opencontainers.image.version': '1.0.0',
    });
    expect(top.manifests.map((m: { platform: unknown }) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
    ]);
    for (const [i, entry] of (top.manifests as Array<{ digest: string }>).entries()) {
      expect(entry.digest).toBe(r.manifests[i]!.digest);
      const child = await inspect(`docker://${reg.host}/bake/multi@${entry.digest}`, '--raw');
      const baseChild = index.children[i]!;
      expect(child.layers.map((l: { digest: string }) => l.digest)).toEqual([
        ...baseChild.layers.map((l) => l.digest),
        layer.digest,
      ]);
      expect(child.annotations['org.opencontainers.image.base.digest']).toBe(baseChild.digest);
      const config = await inspect(`docker://${reg.host}/bake/multi@${entry.digest}`, '--config');
      expect(config.architecture).toBe(i === 0 ? 'amd64' : 'arm64');
      expect(config.config.Env).toEqual(['PATH=/usr/bin:/bin', 'LANG=C', 'MULTI=yes']);
      expect(config.rootfs.diff_ids).toEqual([...baseChild.diffIds, layer.diffId]);
    }

    // Only arm64: an index of one.
    const arm = await appendLayers({
      client,
      base: ref(`${proxy.host}/base/multi:1`),
      target: ref(`${proxy.host}/bake/multi:arm`),
      layers: [{ directory: app, destination: '/app' }],
      config: { env: { MULTI: 'yes' } },
      annotations: { 'org.opencontainers.image.version': '1.0.0' },
      platforms: ['linux/arm64'],
    });
    expect(arm.platforms).toEqual(['linux/arm64']);
    expect(arm.manifests).toEqual([r.manifests[1]]); // a platform's image does not depend on the others
    const armTop = await inspect(`docker://${reg.host}/bake/multi:arm`, '--raw');
    expect(armTop.manifests).toHaveLength(1);
    expect(armTop.manifests[0].platform).toEqual({ architecture: 'arm64', os: 'linux' });
    await expect(
      appendLayers({
        client,
        base: ref(`${proxy.host}/base/multi:1`),
        target: ref(`${proxy.host}/bake/multi:s390x`),
        layers: [],
        platforms: ['linux/s390x'],
      }),
    ).rejects.toThrow(`${proxy.host}/base/multi:1 has no linux/s390x image; it has linux/amd64, linux/arm64`);
  });

  test('a Docker-typed base keeps Docker media types (manifest list, manifests, config, new layers)', async () => {
    const { client } = newClient();
    const single = baseImage(`d${++seq}`, { docker: true });
    await push(client, { registry: reg.host, repository: 'base/docker' }, '1', single);
    const list = baseIndex(`dl${seq}`, ['amd64', 'arm64'], { docker: true });
    await push(client, { registry: reg.host, repository: 'base/docker' }, 'list', list);
    const app = await appDir(await fresh('docker'), 0);

    const r = await appendLayers({
      client,
      base: ref(`${reg.host}/base/docker:1`),
      target: ref(`${reg.host}/bake/docker:1`),
      layers: [{ directory: app, destination: '/app' }],
      config: { cmd: ['serve'] },
    });
    const m = await inspect(`docker://${reg.host}/bake/docker:1`, '--raw');
    expect(m.mediaType).toBe(DOCKER_MANIFEST);
    expect(m.config.mediaType).toBe(DOCKER_CONFIG);
    expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      DOCKER_LAYER,
      DOCKER_LAYER,
      DOCKER_LAYER,
    ]);
    expect(m.annotations).toBeUndefined();
    expect(r.layers[0]!.mediaType).toBe(DOCKER_LAYER);
    expect((await inspect(`docker://${reg.host}/bake/docker:1`, '--config')).config.Cmd).toEqual(['serve']);

    const rl = await appendLayers({
      client,
      base: ref(`${reg.host}/base/docker:list`),
      target: ref(`${reg.host}/bake/docker:list`),
      layers: [{ directory: app, destination: '/app' }],
    });
    const top = await inspect(`docker://${reg.host}/bake/docker:list`, '--raw');
    expect(top.mediaType).toBe(DOCKER_MANIFEST_LIST);
    expect(top.annotations).toBeUndefined();
    expect(rl.layers[0]!.digest).toBe(r.layers[0]!.digest); // the same directory, the same blob
    for (const entry of top.manifests as Array<{ digest: string; mediaType: string }>) {
      expect(entry.mediaType).toBe(DOCKER_MANIFEST);
      const child = await inspect(`docker://${reg.host}/bake/docker@${entry.digest}`, '--raw');
      expect(child.layers.at(-1)).toEqual({
        mediaType: DOCKER_LAYER,
        digest: rl.layers[0]!.digest,
        size: rl.layers[0]!.size,
      });
    }
  });

  test('tags are written last: a failed manifest PUT or layer upload leaves the tag absent', async () => {
    const { client } = newClient({ retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 2 }, uploadAttempts: 1 });
    const index = baseIndex(`f${++seq}`, ['amd64', 'arm64']);
    await push(client, { registry: reg.host, repository: 'base/fail' }, '1', index);
    const app = await appDir(await fresh('fail'), 0);
    const bake = (repo: string, tag: string) =>
      appendLayers({
        client,
        base: ref(`${proxy.host}/base/fail:1`),
        target: ref(`${proxy.host}/${repo}:${tag}`),
        layers: [{ directory: app, destination: '/app' }],
      });

    // A per-platform manifest PUT (by digest) fails: the index is never tagged.
    const childPut = proxy.addFault({
      match: (r) => r.route === 'PUT /v2/:name/manifests/:ref' && r.path.includes('/manifests/sha256:'),
      times: Infinity,
      fault: { kind: '503' },
    });
    await expect(bake('bake/fail', 'v1')).rejects.toThrow(/503|UNAVAILABLE|unavailable/i);
    expect(childPut.served()).toBeGreaterThan(0);
    expect(await rawHead(reg, 'bake/fail', 'v1')).toBeUndefined();
    proxy.clearFaults();

    // In a fresh repository, the new layer's upload is cut mid-body: the tag is not written either.
    const cut = proxy.addFault({
      match: (r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'),
      times: Infinity,
      fault: { kind: 'reset-mid-body', afterBytes: 1000 },
    });
    await expect(bake('bake/fail-upload', 'v1')).rejects.toThrow();
    expect(cut.served()).toBeGreaterThan(0);
    expect(await rawHead(reg, 'bake/fail-upload', 'v1')).toBeUndefined();
    proxy.clearFaults();

    // Without faults, the same bake completes and the tag appears, pointing at the whole index.
    const ok = await bake('bake/fail', 'v1');
    expect(await rawHead(reg, 'bake/fail', 'v1')).toBe(ok.digest);
  });

  test('a base on another registry: its layers are streamed registry → registry (a mount is impossible), once', async () => {
    const { client, logger } = newClient();
    const base = baseImage(`x${++seq}`);
    await push(client, { registry: other.host, repository: 'base/elsewhere' }, '1', base);
    const app = await appDir(await fresh('cross'), 0);
    const bake = (tag: string, env: Record<string, string>) =>
      appendLayers({
        client,
        base: ref(`${other.host}/base/elsewhere:1`),
        target: ref(`${proxy.host}/bake/cross:${tag}`),
        layers: [{ directory: app, destination: '/app' }],
        config: { env },
      });
    proxy.resetStats();
    const r = await bake('1', { A: '1' });
    const baseBytes = base.layers.reduce((n, l) => n + l.size, 0);
    expect(r.baseLayers).toEqual({ mounted: 0, present: 0, copied: 2, bytesCopied: baseBytes });
    expect(proxy.stats().uploadedBytes).toBe(r.bytesUploaded);
    expect(r.bytesUploaded).toBe(
      baseBytes +
        r.layers[0]!.size +
        (await inspect(`docker://${reg.host}/bake/cross:1`, '--raw')).config.size,
    );
    expect(logger.lines.join('\n')).toMatch(/the base is on another registry .* cannot be mounted/);
    expect(await rawHead(reg, 'bake/cross', '1')).toBe(r.digest);

    // A second bake into the repository finds the base layers there (HEAD), and the new layer too.
    proxy.resetStats();
    const second = await bake('2', { A: '2' });
    expect(second.baseLayers).toEqual({ mounted: 0, present: 2, copied: 0, bytesCopied: 0 });
    expect(second.blobsUploaded).toBe(1); // only the new config
    expect(proxy.stats().uploadedBytes).toBe(second.bytesUploaded);
  });

  test('an OCI layout output: a local-only bake (base layers downloaded, said so) with the registry bake’s digest', async () => {
    const { client, logger } = newClient();
    const base = baseImage(`o${++seq}`);
    await push(client, { registry: reg.host, repository: 'base/layout' }, '1', base);
    const app = await appDir(await fresh('layout'), 0);
    const inputs = {
      client,
      base: ref(`${proxy.host}/base/layout:1`),
      layers: [{ directory: app, destination: '/app' }],
      config: CONFIG,
    };
    const dir = join(work, `layout-${seq}`);
    proxy.resetStats();
    const local = await appendLayers({ ...inputs, ociLayout: { dir, tag: 'v1' } });
    const baseBytes = base.layers.reduce((n, l) => n + l.size, 0);
    expect(local.ociLayout).toEqual({ dir, tag: 'v1', baseBytesDownloaded: baseBytes, blobsWritten: 5 });
    expect(local.target).toBeUndefined();
    expect(proxy.stats().downloadedBytes).toBe(baseBytes + base.config!.size);
    expect(proxy.stats().uploadedBytes).toBe(0);
    expect(logger.lines.join('\n')).toMatch(/a layout holds every blob, so 2 base layers .* are downloaded/);

    // skopeo reads the layout; the same inputs baked into a registry give the same digest.
    const raw = (await skopeo.run(['inspect', '--raw', `oci:${dir}:v1`])).stdout;
    expect(sha256(Buffer.from(raw))).toBe(local.digest);
    const remote = await appendLayers({ ...inputs, target: ref(`${proxy.host}/bake/layout:v1`) });
    expect(remote.digest).toBe(local.digest);

    // push-registry's reader pushes the layout as it is.
    const image = await openImageSource(`oci:${dir}:v1`);
    try {
      const pushed = await pushImage(localImageSource(image), [ref(`${reg.host}/bake/from-layout:v1`)], {
        client,
      });
      expect(pushed.source.digest).toBe(local.digest);
    } finally {
      await image.close();
    }

    // A second bake into the same layout keeps the first image and reuses its base layers.
    const again = await appendLayers({
      ...inputs,
      config: { ...CONFIG, user: '2000' },
      ociLayout: { dir, tag: 'v2' },
    });
    expect(again.ociLayout?.baseBytesDownloaded).toBe(0);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string }>;
    };
    expect(index.manifests.map((m) => m.digest)).toEqual([local.digest, again.digest]);
  });

  test('tarball layers: a gzip tarball is uploaded as it is, a plain one gzipped; bad inputs are one clear error', async () => {
    const { client } = newClient();
    const base = baseImage(`t${++seq}`);
    await push(client, { registry: reg.host, repository: 'base/tarball' }, '1', base);
    const tarBytes = tarFiles({ 'opt/tool/README': 'a tool\n' });
    const gz = join(work, `layer-${seq}.tar.gz`);
    await writeFile(gz, gzipSync(tarBytes, { level: 9 }));
    const plain = join(work, `layer-${seq}.tar`);
    await writeFile(plain, tarFiles({ 'opt/other/README': 'other\n' }));
    const r = await appendLayers({
      client,
      base: ref(`${reg.host}/base/tarball:1`),
      target: ref(`${reg.host}/bake/tarball:1`),
      layers: [{ tarball: gz }, { tarball: plain }],
    });
    expect(r.layers[0]).toMatchObject({ digest: sha256(await readFile(gz)), diffId: sha256(tarBytes) });
    expect(r.layers[1]!.diffId).toBe(sha256(await readFile(plain)));
    const config = await inspect(`docker://${reg.host}/bake/tarball:1`, '--config');
    expect(config.rootfs.diff_ids).toEqual([...base.diffIds, r.layers[0]!.diffId, r.layers[1]!.diffId]);
    expect(config.history.slice(2).map((h: { created_by: string }) => h.created_by)).toEqual([
      `kiln layer-append tarball ${r.layers[0]!.diffId}`,
      `kiln layer-append tarball ${r.layers[1]!.diffId}`,
    ]);

    const bad = (opts: Partial<AppendLayersOptions>) =>
      appendLayers({
        client,
        base: ref(`${reg.host}/base/tarball:1`),
        target: ref(`${reg.host}/bake/tarball:2`),
        layers: [],
        ...opts,
      });
    await expect(bad({ target: ref(`${reg.host}/bake/tarball@${base.digest}`) })).rejects.toThrow(
      /names a digest/,
    );
    await expect(bad({ target: undefined })).rejects.toThrow(
      /needs a target repository, an OCI layout, or both/,
    );
    await expect(bad({ config: { exposedPorts: ['http'] } })).rejects.toThrow(ConfigurationError);
    await expect(bad({ config: { created: 'yesterday' } })).rejects.toThrow(/RFC 3339/);
    await expect(bad({ layers: [{ directory: join(work, 'missing') }] })).rejects.toThrow(ConfigurationError);
    expect(await rawHead(reg, 'bake/tarball', '2')).toBeUndefined();
  });

  test('the result runs: buildah pulls it and runs a file the layer added on a busybox base', async () => {
    const busybox = which('busybox');
    if (!which('buildah')) throw new Error('this test needs buildah (apt-get install buildah)');
    if (!busybox || !existsSync('/bin/busybox')) {
      throw new Error('this test needs a static busybox at /bin/busybox (apt-get install busybox-static)');
    }
    const { client, logger } = newClient();
    // The base: one layer of /bin/busybox and a few applets, written with Kiln's own tar writer.
    const root = await fresh('busybox-root');
    await mkdir(join(root, 'bin'));
    await copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const applet of ['sh', 'echo', 'cat', 'ls', 'id'])
      await symlink('busybox', join(root, 'bin', applet));
    const baseLayer = await buildLayer(
      { directory: root },
      { outFile: join(work, `busybox-${++seq}.tar.gz`) },
    );
    const base = baseImage('busybox', {
      tars: [gunzipSync(await readFile(baseLayer.path))],
      config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'] },
    });
    await push(client, { registry: reg.host, repository: 'base/busybox' }, '1', base);

    const app = await fresh('hello');
    await writeFile(join(app, 'hello.sh'), '#!/bin/sh\necho "hello from $GREETING as $(id -u)"\n');
    await chmod(join(app, 'hello.sh'), 0o755);
    const r = await appendLayers({
      client,
      base: ref(`${reg.host}/base/busybox:1`),
      target: ref(`${reg.host}/bake/hello:1`),
      layers: [{ directory: app, destination: '/app' }],
      config: { env: { GREETING: 'kiln' }, entrypoint: ['/app/hello.sh'], workdir: '/app' },
    });
    expect(r.baseLayers.mounted).toBe(1);
    // As a Dockerfile's ENTRYPOINT does, the new entrypoint clears the base's cmd (it would become its arguments).
    const config = await inspect(`docker://${reg.host}/bake/hello:1`, '--config');
    expect(config.config).toEqual({
      Env: ['PATH=/bin', 'GREETING=kiln'],
      Entrypoint: ['/app/hello.sh'],
      WorkingDir: '/app',
    });
    expect(logger.lines.join('\n')).toContain(
      `linux/amd64: the base's cmd ["/bin/sh"] is cleared by the new entrypoint`,
    );

    const dir = await fresh('buildah');
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      TMPDIR: dir,
      XDG_RUNTIME_DIR: dir,
      XDG_CONFIG_HOME: join(dir, '.config'),
      REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
    };
    await writeFile(env.REGISTRY_AUTH_FILE, JSON.stringify({ auths: {} }));
    const buildah = (args: string[]) =>
      exec(
        'buildah',
        ['--root', join(dir, 'root'), '--runroot', join(dir, 'runroot'), '--storage-driver', 'vfs', ...args],
        {
          env,
          timeoutMs: 120_000,
        },
      );
    const name = `kiln-bake-${seq}`;
    await buildah([
      'from',
      '--signature-policy',
      policy,
      '--tls-verify=false',
      '--name',
      name,
      `docker://${reg.host}/bake/hello:1`,
    ]);
    try {
      const run = await buildah(['run', '--isolation', 'chroot', name, '--', '/app/hello.sh']);
      expect(run.stdout.trim()).toBe('hello from kiln as 0');
      const ls = await buildah(['run', '--isolation', 'chroot', name, '--', 'ls', '-ln', '/app/hello.sh']);
      expect(ls.stdout).toMatch(/^-rwxr-xr-x\s+1\s+0\s+0\s/);
      const inspected = JSON.parse((await buildah(['inspect', '--type', 'container', name])).stdout) as {
        OCIv1: { config: { Entrypoint: string[]; WorkingDir: string } };
      };
      expect(inspected.OCIv1.config.Entrypoint).toEqual(['/app/hello.sh']);
      expect(inspected.OCIv1.config.WorkingDir).toBe('/app');
    } finally {
      await buildah(['rm', name]).catch(() => undefined);
    }
  }, 180_000);
});
