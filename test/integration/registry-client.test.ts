/**
 * Kiln's registry client against real registries (CNCF distribution: open, htpasswd, token auth) through the
 * counting, fault-injecting proxy, with skopeo as the interoperability witness. See test/sim/registry.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference, type ImageReference } from '../../packages/core/src/image/reference.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  copyImage,
  CopyRefusedError,
  imagesOf,
  loadImageTree,
  localImageSource,
  pushImage as pushLocal,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  RegistryError,
  referrersTag,
  type CopyOptions,
  type LocalImage,
  type RegistryClientOptions,
  type RepositoryRef,
} from '../../packages/core/src/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { tarFiles, writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { exec, freePort, removeDir, sleep, which } from '../sim/registry/util.js';

const USERS = { alice: 'wonderland' };
const PASSWORD = USERS.alice;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}
interface TestImage {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  blobs: Blob[];
  children: TestImage[];
}

const blobOf = (mediaType: string, bytes: Buffer): Blob => ({
  mediaType,
  digest: sha256(bytes),
  size: bytes.length,
  bytes,
});

/** A single-platform OCI image: one gzip layer of `layerBytes` random bytes, a config, a manifest. */
function buildImage(seed: string, opts: { layerBytes?: number; arch?: string } = {}): TestImage {
  const tar = tarFiles({ 'seed.txt': seed, 'noise.bin': randomBytes(opts.layerBytes ?? 32 * 1024) });
  const layer = blobOf('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(tar));
  const config = blobOf(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture: opts.arch ?? 'amd64',
        os: 'linux',
        config: { Labels: { seed } },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    ),
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
    }),
  );
  return { bytes, digest: sha256(bytes), mediaType: OCI_MANIFEST, blobs: [config, layer], children: [] };
}

/** An OCI index of linux/amd64 and linux/arm64 images. */
function buildIndex(seed: string): TestImage {
  const children = ['amd64', 'arm64'].map((arch) => buildImage(`${seed}-${arch}`, { arch }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.bytes.length,
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    }),
  );
  return { bytes, digest: sha256(bytes), mediaType: OCI_INDEX, blobs: [], children };
}

/** Pushes an image (blobs, children, manifest) with the client's primitives. */
async function pushImage(
  client: RegistryClient,
  repo: RepositoryRef,
  tag: string | undefined,
  img: TestImage,
) {
  for (const child of img.children) await pushImage(client, repo, undefined, child);
  for (const b of img.blobs) await client.uploadBlob(repo, b, b.bytes);
  return client.putManifest(repo, tag ?? img.digest, img);
}

const ref = (s: string): ImageReference => parseImageReference(s);

/**
 * A pass-through proxy to `target` (Host kept, so Locations name the proxy) whose `rewrite` may answer a request
 * itself (return a status, body and headers) or change its path (return a string).
 */
async function rewritingProxy(
  target: string,
  rewrite: (
    method: string,
    path: string,
  ) => { status: number; body: string; headers?: Record<string, string> } | string | undefined,
): Promise<{ host: string; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const decision = rewrite(req.method ?? 'GET', req.url ?? '/');
    if (typeof decision === 'object') {
      req.resume();
      res.writeHead(decision.status, { 'content-type': 'application/json', ...decision.headers });
      res.end(decision.body);
      return;
    }
    const fwd = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: decision ?? req.url,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', () => res.destroy());
    req.pipe(fwd);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The smallest {@link LocalImage} over an OCI layout (core's image/source reads layouts for real). */
function layoutImage(img: OciLayoutImage): LocalImage {
  const path = (digest: string) => join(img.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  return {
    describe: () => `oci-layout:${img.dir}:${img.tag}`,
    rootManifest: async () => ({
      bytes: img.manifest.bytes,
      digest: img.manifest.digest,
      mediaType: OCI_MANIFEST,
    }),
    manifest: async (digest) => ({ bytes: await readFile(path(digest)), mediaType: OCI_MANIFEST }),
    openBlob: async (digest) => ({
      stream: createReadStream(path(digest)),
      size: (await stat(path(digest))).size,
    }),
  };
}

/** Resolves with the status of an https GET that skips verification, or rejects on a connection error. */
function probeTls(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

/**
 * A registry serving https with a self-signed certificate for 127.0.0.1 (the equipment's registries are plain
 * http): distribution started by hand with `http.tls`.
 */
async function startTlsRegistry(dir: string): Promise<{ host: string; stop: () => Promise<void> }> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]);
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(join(dir, 'storage'))}`,
      'http:',
      `  addr: "127.0.0.1:${port}"`,
      '  tls:',
      `    certificate: ${JSON.stringify(join(dir, 'cert.pem'))}`,
      `    key: ${JSON.stringify(join(dir, 'key.pem'))}`,
      '',
    ].join('\n'),
  );
  const child = spawn(which(process.env.KILN_REGISTRY_BIN ?? 'docker-registry')!, ['serve', config], {
    stdio: 'ignore',
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probeTls(`https://127.0.0.1:${port}/v2/`);
      return { host: `127.0.0.1:${port}`, stop };
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        await stop();
        throw new Error('the TLS registry did not start');
      }
      await sleep(25);
    }
  }
}

describe('registry client (docker-registry + skopeo)', () => {
  let open: RunningRegistry;
  let open2: RunningRegistry;
  let basicReg: RunningRegistry;
  let tokenReg: RunningRegistry;
  let relReg: RunningRegistry;
  /** In front of `open`. */
  let proxy: FaultProxy;
  /** In front of `open2`. */
  let proxy2: FaultProxy;
  /** In front of `tokenReg` (token requests go through it too). */
  let tokenProxy: FaultProxy;
  let skopeo: Skopeo;
  let work: string;
  let emptyConfigDir: string;
  let seq = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  const keep = async <T>(started: Promise<T>, stop: (value: T) => Promise<unknown>): Promise<T> => {
    const value = await started;
    cleanups.push(() => stop(value));
    return value;
  };

  /** A client isolated from this machine's docker config and CI variables, with fast retries. */
  const newClient = (extra: Partial<RegistryClientOptions> = {}) => {
    const logger = new MemoryLogger(true);
    const secrets: string[] = [];
    const client = new RegistryClient({
      logger,
      env: { PATH: process.env.PATH, HOME: work },
      dockerConfigDir: emptyConfigDir,
      explicitCredentials: {
        [basicReg.host]: { username: 'alice', password: PASSWORD },
        [tokenProxy.host]: { username: 'alice', password: PASSWORD },
      },
      onSecret: (s) => secrets.push(s),
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...extra,
    });
    return { client, logger, secrets };
  };

  const copy = (
    client: RegistryClient,
    src: string,
    dsts: string[],
    opts: Omit<CopyOptions, 'client'> = {},
  ) => copyImage(ref(src), dsts.map(ref), { client, ...opts });

  /** The digest a tag points at (raw fetch, independent of the client), or undefined. */
  const rawHead = async (reg: { url: string }, repo: string, reference: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? '') : undefined;
  };

  beforeAll(async () => {
    const missing = [
      registryAvailable() ? undefined : 'docker-registry',
      skopeoAvailable() ? undefined : 'skopeo',
      which('htpasswd') ? undefined : 'htpasswd',
      which('openssl') ? undefined : 'openssl',
    ].filter(Boolean);
    if (missing.length > 0) throw new Error(`registry client tests need ${missing.join(', ')}`);
    work = await mkdtemp(join(tmpdir(), 'kiln-regclient-'));
    emptyConfigDir = join(work, 'docker-empty');
    await mkdir(emptyConfigDir);
    skopeo = await createSkopeo();
    const registries = [
      keep(startRegistry(), (r) => r.stop()),
      keep(startRegistry(), (r) => r.stop()),
      keep(startRegistry({ auth: { kind: 'basic', users: USERS } }), (r) => r.stop()),
      keep(startRegistry({ auth: { kind: 'token', users: USERS } }), (r) => r.stop()),
      keep(startRegistry({ relativeUrls: true }), (r) => r.stop()),
    ] as const;
    await Promise.allSettled(registries);
    [open, open2, basicReg, tokenReg, relReg] = await Promise.all(registries);
    const proxies = [
      keep(startFaultProxy(open.url), (p) => p.close()),
      keep(startFaultProxy(open2.url), (p) => p.close()),
      keep(startFaultProxy(tokenReg.url), (p) => p.close()),
    ] as const;
    await Promise.allSettled(proxies);
    [proxy, proxy2, tokenProxy] = await Promise.all(proxies);
  });

  afterAll(async () => {
    await closeHttpPools();
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    await skopeo?.close();
    if (work) await removeDir(work);
  });

  test('manifests: PUT exact bytes, GET them back verified, HEAD digest/type/size; unknown tag → not found', async () => {
    const { client } = newClient();
    const repo = { registry: proxy.host, repository: 'm/app' };
    const img = buildImage(`m${++seq}`);
    const put = await pushImage(client, repo, 'v1', img);
    expect(put.digest).toBe(img.digest);
    expect(put.registryDigest).toBe(img.digest);

    const got = await client.getManifest(repo, 'v1');
    expect(got.bytes.equals(img.bytes)).toBe(true);
    expect(got.digest).toBe(img.digest);
    expect(got.mediaType).toBe(OCI_MANIFEST);
    expect(got.parsed.kind).toBe('image');
    const byDigest = await client.getManifest(repo, img.digest);
    expect(byDigest.bytes.equals(img.bytes)).toBe(true);
    expect(await client.headManifest(repo, 'v1')).toEqual({
      digest: img.digest,
      mediaType: OCI_MANIFEST,
      size: img.bytes.length,
    });
    expect(await client.headManifest(repo, 'nope')).toBeUndefined();
    await expect(client.getManifest(repo, 'nope')).rejects.toThrow(`${proxy.host}/m/app:nope not found`);
    await expect(copy(client, `${proxy.host}/m/missing:1`, [`${proxy.host}/m/x:1`])).rejects.toMatchObject({
      kind: 'not-found',
      message: expect.stringContaining(`${proxy.host}/m/missing:1 not found`),
    });
    for (const b of img.blobs) expect(await client.blobExists(repo, b.digest)).toBe(b.size);
  });

  test('blobs: monolithic and chunked uploads (PATCH with Content-Range), relative Location', async () => {
    const { client } = newClient({ chunkSize: 64 * 1024 });
    const repo = { registry: proxy.host, repository: 'b/app' };
    const small = blobOf('x', randomBytes(10_000));
    const large = blobOf('x', randomBytes(200_000));
    proxy.resetStats();
    expect((await client.uploadBlob(repo, small, small.bytes)).attempts).toBe(1);
    expect(proxy.stats().byRoute['PATCH /v2/:name/blobs/uploads/:id']).toBeUndefined();
    await client.uploadBlob(repo, large, large.bytes);
    const stats = proxy.stats();
    expect(stats.byRoute['PATCH /v2/:name/blobs/uploads/:id']).toBe(4); // 64+64+64+8 KiB-ish
    expect(stats.uploadedBytes).toBe(small.size + large.size);
    const back = await fetch(`${open.url}/v2/b/app/blobs/${large.digest}`);
    expect(sha256(Buffer.from(await back.arrayBuffer()))).toBe(large.digest);

    // A registry answering relative Locations.
    const rel = { registry: relReg.host, repository: 'rel/app' };
    const img = buildImage(`rel${++seq}`, { layerBytes: 150_000 });
    expect((await pushImage(client, rel, 'v1', img)).digest).toBe(img.digest);
    expect(await rawHead(relReg, 'rel/app', 'v1')).toBe(img.digest);
  });

  test('same-repository retag: GET + HEAD + PUT, at most 3 requests, no blob traffic', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`t${++seq}`);
    await pushImage(pusher, { registry: proxy.host, repository: 'retag/app' }, 'build-1', img);

    const { client } = newClient();
    proxy.resetStats();
    const result = await copy(client, `${proxy.host}/retag/app:build-1`, [`${proxy.host}/retag/app:qa`]);
    const stats = proxy.stats();
    expect(stats.requests).toBeLessThanOrEqual(3);
    expect(Object.keys(stats.byRoute).sort()).toEqual([
      'GET /v2/:name/manifests/:ref',
      'HEAD /v2/:name/manifests/:ref',
      'PUT /v2/:name/manifests/:ref',
    ]);
    expect(result.requests).toBe(stats.requests);
    expect(result.destinations[0]).toMatchObject({
      ref: `${proxy.host}/retag/app:qa`,
      digest: img.digest,
      action: 'pushed',
      blobsMounted: 0,
      blobsUploaded: 0,
      bytesUploaded: 0,
    });
    expect(await rawHead(open, 'retag/app', 'qa')).toBe(img.digest);
  });

  test('same registry, other repository: every blob mounted, zero bytes uploaded', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`mnt${++seq}`, { layerBytes: 100_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'team-a/app' }, '1.0', img);

    const { client } = newClient();
    proxy.resetStats();
    const result = await copy(client, `${proxy.host}/team-a/app:1.0`, [`${proxy.host}/team-b/app:1.0`]);
    const stats = proxy.stats();
    expect(stats.uploadedBytes).toBe(0);
    expect(stats.downloadedBytes).toBe(0);
    expect(result.destinations[0]).toMatchObject({
      action: 'pushed',
      blobsMounted: 2,
      blobsUploaded: 0,
      bytesUploaded: 0,
    });
    expect(result.requests).toBe(stats.requests);
    expect(stats.requests).toBe(5); // GET source, HEAD target, 2 mounts, PUT
    expect(await rawHead(open, 'team-b/app', '1.0')).toBe(img.digest);
  });

  test('mount refused (403, Harbor-style) falls back to an upload; mount answered 202 uploads into that session', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`harbor${++seq}`);
    await pushImage(pusher, { registry: open.host, repository: 'project-a/app' }, '1', img);
    const mounts: string[] = [];
    const harbor = await rewritingProxy(open.url, (method, path) => {
      if (method === 'POST' && path.includes('mount=')) {
        mounts.push(path);
        if (mounts.length === 1)
          return { status: 403, body: '{"errors":[{"code":"DENIED","message":"no"}]}' };
        return path.replace(/from=[^&]+/, 'from=empty%2Frepo'); // not mountable: the registry opens a session
      }
      return undefined;
    });
    try {
      const { client, logger } = newClient();
      const result = await copy(client, `${harbor.host}/project-a/app:1`, [`${harbor.host}/project-b/app:1`]);
      expect(mounts).toHaveLength(2);
      expect(result.destinations[0]).toMatchObject({
        action: 'pushed',
        digest: img.digest,
        blobsMounted: 0,
        blobsUploaded: 2,
        bytesUploaded: img.blobs.reduce((n, b) => n + b.size, 0),
      });
      const notMounted = logger.lines.filter((l) => l.includes('not mounted'));
      expect(notMounted.some((l) => l.includes('mount answered HTTP 403'))).toBe(true);
      expect(notMounted.some((l) => l.includes('the registry opened an upload instead'))).toBe(true);
      // 2 mount POSTs + 1 new session for the refused mount; the session the 202 opened was used as is.
      const posts = logger.lines.filter((l) => /^debug: POST \S+\/blobs\/uploads\/ → /.test(l));
      expect(posts).toHaveLength(3);
      expect(await rawHead(open, 'project-b/app', '1')).toBe(img.digest);
    } finally {
      await harbor.close();
    }
  });

  test('other registry: blobs HEADed, missing ones streamed (chunked), same digest; re-run is unchanged with no uploads', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`x${++seq}`, { layerBytes: 300_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'src/app' }, '2.0', img);

    const { client } = newClient({ chunkSize: 128 * 1024 });
    proxy.resetStats();
    proxy2.resetStats();
    const result = await copy(client, `${proxy.host}/src/app:2.0`, [`${proxy2.host}/dst/app:2.0`]);
    const blobBytes = img.blobs.reduce((n, b) => n + b.size, 0);
    expect(result.destinations[0]).toMatchObject({
      digest: img.digest,
      action: 'pushed',
      blobsUploaded: 2,
      bytesUploaded: blobBytes,
      blobsMounted: 0,
    });
    expect(proxy.stats().downloadedBytes).toBe(blobBytes);
    expect(proxy2.stats().uploadedBytes).toBe(blobBytes);
    expect(proxy2.stats().byRoute['PATCH /v2/:name/blobs/uploads/:id']).toBe(3); // the layer, in 3 chunks
    expect(result.requests).toBe(proxy.stats().requests + proxy2.stats().requests);
    expect(await rawHead(open2, 'dst/app', '2.0')).toBe(img.digest);

    // Idempotent: the second run sees the same digest at the target and writes nothing.
    proxy.resetStats();
    proxy2.resetStats();
    const again = await copy(client, `${proxy.host}/src/app:2.0`, [`${proxy2.host}/dst/app:2.0`]);
    expect(again.destinations[0]).toMatchObject({ action: 'unchanged', blobsUploaded: 0, bytesUploaded: 0 });
    expect(proxy2.stats().uploadedBytes).toBe(0);
    expect(proxy2.stats().log.map((e) => e.method)).toEqual(['HEAD']);
    expect(proxy.stats().requests).toBe(1);
  });

  test('blob downloads redirected to object storage: followed, no Authorization sent there, same digest', async () => {
    // Object storage on another origin serves pre-signed URLs and, like S3, refuses a request that also carries
    // an Authorization header (400 "Only one auth mechanism allowed").
    const seen: string[] = [];
    const storage = createServer((req, res) => {
      const digest = /^\/blobs\/(sha256:[a-f0-9]{64})\?sig=/.exec(req.url ?? '')?.[1];
      seen.push(req.headers.authorization ? 'with-auth' : 'plain');
      if (req.headers.authorization || !digest) {
        res.writeHead(400).end('Only one auth mechanism allowed');
        return;
      }
      void fetch(`${basicReg.url}/v2/redir/src/blobs/${digest}`, {
        headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` },
      }).then(async (up) => {
        res.writeHead(up.status, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from(await up.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    const storageUrl = `http://127.0.0.1:${(storage.address() as AddressInfo).port}`;
    // The registry (basic auth) redirects every blob GET there, as Docker Hub, GHCR, ECR or Harbor on S3 do.
    const front = await rewritingProxy(basicReg.url, (method, path) => {
      const m = /^\/v2\/.+\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
      return method === 'GET' && m
        ? { status: 307, body: '', headers: { location: `${storageUrl}/blobs/${m[1]}?sig=pre-signed` } }
        : undefined;
    });
    try {
      const { client: pusher } = newClient();
      const img = buildImage(`redir${++seq}`);
      await pushImage(pusher, { registry: basicReg.host, repository: 'redir/src' }, '1', img);
      const { client, logger } = newClient({
        explicitCredentials: {
          [basicReg.host]: { username: 'alice', password: PASSWORD },
          [front.host]: { username: 'alice', password: PASSWORD },
        },
      });
      const r = await copy(client, `${front.host}/redir/src:1`, [`${proxy2.host}/redir/dst:1`]);
      expect(r.destinations[0]).toMatchObject({ action: 'pushed', digest: img.digest });
      expect(await rawHead(open2, 'redir/dst', '1')).toBe(img.digest);
      // Every blob (config and layer) came from storage, none with the registry's credentials.
      expect(seen).toEqual(img.blobs.map(() => 'plain'));
      expect(logger.lines.join('\n')).not.toContain(PASSWORD);
    } finally {
      await front.close();
      storage.closeAllConnections();
      storage.close();
    }
  });

  test('multi-arch index: every child and blob copied, index digest preserved (other repo and other registry)', async () => {
    const { client: pusher } = newClient();
    const index = buildIndex(`idx${++seq}`);
    await pushImage(pusher, { registry: proxy.host, repository: 'multi/app' }, '3.0', index);

    const { client } = newClient();
    const result = await copy(client, `${proxy.host}/multi/app:3.0`, [
      `${proxy.host}/multi/promoted:3.0`,
      `${proxy2.host}/multi/app:3.0`,
      `${basicReg.host}/multi/app:3.0`,
    ]);
    expect(result.source.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(result.destinations.map((d) => [d.action, d.digest, d.manifestsPushed])).toEqual([
      ['pushed', index.digest, 3],
      ['pushed', index.digest, 3],
      ['pushed', index.digest, 3],
    ]);
    expect(result.destinations[0]).toMatchObject({ blobsMounted: 4, blobsUploaded: 0 });
    expect(result.destinations[1]).toMatchObject({ blobsMounted: 0, blobsUploaded: 4 });
    const check = new RegistryClient({
      logger: new MemoryLogger(),
      dockerConfigDir: emptyConfigDir,
      env: {},
      explicitCredentials: { [basicReg.host]: { username: 'alice', password: PASSWORD } },
    });
    const tree = await loadImageTree(check, { registry: basicReg.host, repository: 'multi/app' }, '3.0');
    expect(imagesOf(tree).map((i) => [i.platform, i.digest, i.blobs.map((b) => b.digest)])).toEqual(
      index.children.map((c, i) => [
        i === 0 ? 'linux/amd64' : 'linux/arm64',
        c.digest,
        c.blobs.map((b) => b.digest),
      ]),
    );
    for (const [registry, repository] of [
      [proxy.host, 'multi/promoted'],
      [proxy2.host, 'multi/app'],
      [basicReg.host, 'multi/app'],
    ] as const) {
      const repo = { registry, repository };
      const got = await check.getManifest(repo, '3.0');
      expect(got.bytes.equals(index.bytes)).toBe(true);
      for (const child of index.children) {
        expect((await check.headManifest(repo, child.digest))?.digest).toBe(child.digest);
        for (const b of child.blobs) expect(await check.blobExists(repo, b.digest)).toBe(b.size);
      }
    }
  });

  test('refusals: expectedDigest mismatch, overwrite without allowOverwrite; dry run writes nothing', async () => {
    const { client } = newClient();
    const repo = { registry: proxy.host, repository: 'guard/app' };
    const a = buildImage(`a${++seq}`);
    const b = buildImage(`b${++seq}`);
    await pushImage(client, repo, 'a', a);
    await pushImage(client, repo, 'b', b);

    await expect(
      copy(client, `${proxy.host}/guard/app:a`, [`${proxy2.host}/guard/app:a`], { expectedDigest: b.digest }),
    ).rejects.toThrow(CopyRefusedError);
    await expect(
      copy(client, `${proxy.host}/guard/app:a`, [`${proxy2.host}/guard/app:a`], { expectedDigest: b.digest }),
    ).rejects.toMatchObject({ reason: 'source-moved', message: expect.stringContaining('the source moved') });
    expect(await rawHead(open2, 'guard/app', 'a')).toBeUndefined();

    proxy.resetStats();
    const refused = copy(client, `${proxy.host}/guard/app:a`, [`${proxy.host}/guard/app:b`]);
    await expect(refused).rejects.toMatchObject({
      reason: 'tag-exists',
      message: expect.stringContaining(
        `refusing to overwrite ${proxy.host}/guard/app:b: it holds ${b.digest}`,
      ),
    });
    expect(proxy.stats().log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD')).toEqual([]);
    expect(await rawHead(open, 'guard/app', 'b')).toBe(b.digest);

    const allowed = await copy(client, `${proxy.host}/guard/app:a`, [`${proxy.host}/guard/app:b`], {
      allowOverwrite: true,
    });
    expect(allowed.destinations[0]).toMatchObject({
      action: 'pushed',
      previousDigest: b.digest,
      digest: a.digest,
    });
    expect(await rawHead(open, 'guard/app', 'b')).toBe(a.digest);

    proxy.resetStats();
    proxy2.resetStats();
    const dry = await copy(client, `${proxy.host}/guard/app:a`, [`${proxy2.host}/guard/app:new`], {
      dryRun: true,
    });
    expect(dry.destinations[0]).toMatchObject({
      action: 'would-push',
      blobsUploaded: 2,
      bytesUploaded: a.blobs.reduce((n, x) => n + x.size, 0),
    });
    const writes = [...proxy.stats().log, ...proxy2.stats().log].filter(
      (e) => !['GET', 'HEAD'].includes(e.method),
    );
    expect(writes).toEqual([]);
    expect(await rawHead(open2, 'guard/app', 'new')).toBeUndefined();
  });

  test('token auth: one token for both scopes, push first; re-exchange on a new scope and on expiry; no password leaks', async () => {
    const ts = tokenReg.tokenServer!;
    const { client: pusher } = newClient();
    const img = buildImage(`tok${++seq}`);
    await pushImage(pusher, { registry: tokenProxy.host, repository: 'team/src' }, '1', img);

    let clock = Date.now();
    const { client, logger, secrets } = newClient({ now: () => clock });
    ts.clearRequests();
    tokenProxy.resetStats();
    const result = await copy(client, `${tokenProxy.host}/team/src:1`, [`${tokenProxy.host}/team/dst:1`]);
    expect(result.destinations[0]).toMatchObject({ action: 'pushed', blobsMounted: 2 });
    const tokenRequests = ts.requests();
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]).toMatchObject({
      scopes: ['repository:team/dst:pull,push', 'repository:team/src:pull'],
      user: 'alice',
      authenticated: true,
      account: 'alice',
      service: ts.service,
      status: 200,
    });
    // Only the first round trip (the source GET and the target HEAD, sent together) met the 401; one token
    // request answered both; the token request went through the proxy.
    const log = tokenProxy.stats().log;
    const challenged = log.filter((e) => e.status === 401);
    expect(challenged.map((e) => e.route).sort()).toEqual([
      'GET /v2/:name/manifests/:ref',
      'HEAD /v2/:name/manifests/:ref',
    ]);
    expect(tokenProxy.stats().byRoute['GET /token']).toBe(1);

    // A new repository: the token is re-exchanged for the grown scope set.
    await expect(
      client.headManifest({ registry: tokenProxy.host, repository: 'team/other' }, '1'),
    ).resolves.toBeUndefined();
    expect(ts.requests()).toHaveLength(2);
    expect(ts.requests()[1]!.scopes).toEqual([
      'repository:team/dst:pull,push',
      'repository:team/src:pull',
      'repository:team/other:pull',
    ]);
    // Expiry (300 s here): the cached token is not used past it.
    await client.headManifest({ registry: tokenProxy.host, repository: 'team/dst' }, '1');
    expect(ts.requests()).toHaveLength(2);
    clock += 301_000;
    await client.headManifest({ registry: tokenProxy.host, repository: 'team/dst' }, '1');
    expect(ts.requests()).toHaveLength(3);

    // A 503 from the token server is retried.
    const fault = tokenProxy.addFault({ match: (r) => !r.toRegistry, times: 1, fault: { kind: '503' } });
    clock += 301_000;
    await client.headManifest({ registry: tokenProxy.host, repository: 'team/dst' }, '1');
    expect(fault.served()).toBe(1);
    tokenProxy.clearFaults();

    expect(secrets).toContain(PASSWORD);
    expect(secrets.length).toBeGreaterThan(1); // tokens too
    expect(logger.lines.join('\n')).not.toContain(PASSWORD);
    for (const s of secrets) expect(logger.lines.join('\n')).not.toContain(s);
  });

  test('bad credentials and anonymous push give clear errors without the password', async () => {
    const wrong = 'not-the-password-42';
    const { client: pusher } = newClient();
    await pushImage(
      pusher,
      { registry: proxy.host, repository: 'creds/src' },
      '1',
      buildImage(`bad${++seq}`),
    );
    for (const host of [basicReg.host, tokenProxy.host]) {
      const { client } = newClient({
        explicitCredentials: { [host]: { username: 'alice', password: wrong } },
      });
      const err = (await copy(client, `${proxy.host}/creds/src:1`, [`${host}/bad/app:1`]).catch(
        (e: unknown) => e,
      )) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.kind).toBe('auth');
      expect(err.message).toContain(`authentication failed for ${host} (user alice)`);
      expect(err.message).not.toContain(wrong);
      expect(JSON.stringify(err)).not.toContain(wrong);
    }
    const { client: anon } = newClient({ explicitCredentials: {} });
    await expect(copy(anon, `${proxy.host}/creds/src:1`, [`${basicReg.host}/bad/app:1`])).rejects.toThrow(
      `authentication required for ${basicReg.host}: no credentials found`,
    );
    await expect(copy(anon, `${proxy.host}/creds/src:1`, [`${tokenProxy.host}/bad/app:1`])).rejects.toThrow(
      /authentication required for .*anonymous access is not enough/,
    );
  });

  test('credentials from docker config.json auths and from a docker-credential helper on PATH', async () => {
    const img = buildImage(`cfg${++seq}`);
    const { client: pusher } = newClient();
    await pushImage(pusher, { registry: basicReg.host, repository: 'cfg/app' }, '1', img);

    const authsDir = join(work, 'docker-auths');
    await mkdir(authsDir, { recursive: true });
    await writeFile(
      join(authsDir, 'config.json'),
      JSON.stringify({
        auths: {
          [`http://${basicReg.host}/v2/`]: { auth: Buffer.from(`alice:${PASSWORD}`).toString('base64') },
        },
      }),
    );
    const viaAuths = newClient({ explicitCredentials: {}, dockerConfigDir: authsDir });
    expect(
      (await viaAuths.client.getManifest({ registry: basicReg.host, repository: 'cfg/app' }, '1')).digest,
    ).toBe(img.digest);
    expect(viaAuths.secrets).toContain(PASSWORD);

    const bin = join(work, 'bin');
    const helperDir = join(work, 'docker-helper');
    await mkdir(bin, { recursive: true });
    await mkdir(helperDir, { recursive: true });
    const calls = join(work, 'helper-calls.log');
    const helper = join(bin, 'docker-credential-test');
    await writeFile(
      helper,
      [
        '#!/bin/sh',
        'IFS= read -r server',
        `echo "$1 $server" >> '${calls}'`,
        `if [ "$server" = '${basicReg.host}' ]; then`,
        `  printf '{"ServerURL":"%s","Username":"alice","Secret":"${PASSWORD}"}' "$server"`,
        'else echo "credentials not found in native keychain"; exit 1; fi',
        '',
      ].join('\n'),
    );
    await chmod(helper, 0o755);
    await writeFile(
      join(helperDir, 'config.json'),
      JSON.stringify({ auths: { [basicReg.host]: {} }, credHelpers: { [basicReg.host]: 'test' } }),
    );
    const viaHelper = newClient({
      explicitCredentials: {},
      dockerConfigDir: helperDir,
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: work },
    });
    const result = await copy(viaHelper.client, `${basicReg.host}/cfg/app:1`, [
      `${basicReg.host}/cfg/copied:1`,
    ]);
    expect(result.destinations[0]).toMatchObject({ action: 'pushed', blobsMounted: 2 });
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual([`get ${basicReg.host}`]);
    expect(viaHelper.secrets).toContain(PASSWORD);
    expect(viaHelper.logger.lines.join('\n')).not.toContain(PASSWORD);
  });

  test('faults: 429 + Retry-After, 503, reset and reset mid-upload are survived with the identical digest', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`f${++seq}`, { layerBytes: 200_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'faulty/src' }, '1', img);

    const { client, logger } = newClient();
    proxy2.resetStats();
    const limited = proxy2.addFault({
      match: (r) => r.route === 'PUT /v2/:name/manifests/:ref',
      times: 1,
      fault: { kind: '429', retryAfter: '1' },
    });
    const unavailable = proxy2.addFault({
      match: (r) => r.route === 'POST /v2/:name/blobs/uploads/',
      times: 1,
      fault: { kind: '503' },
    });
    const reset = proxy2.addFault({
      match: (r) => r.route === 'HEAD /v2/:name/blobs/:digest',
      times: 1,
      fault: { kind: 'reset' },
    });
    const midUpload = proxy2.addFault({
      match: (r) =>
        r.route === 'PUT /v2/:name/blobs/uploads/:id' && Number(r.headers['content-length']) > 100_000,
      times: 1,
      fault: { kind: 'reset-mid-body', afterBytes: 50_000, direction: 'request' },
    });
    const layerDigest = img.blobs[1]!.digest;
    const midDownload = proxy.addFault({
      match: (r) => r.route === 'GET /v2/:name/blobs/:digest' && r.path.endsWith(layerDigest),
      times: 1,
      fault: { kind: 'reset-mid-body', afterBytes: 10_000, direction: 'response' },
    });
    try {
      const result = await copy(client, `${proxy.host}/faulty/src:1`, [`${proxy2.host}/faulty/dst:1`]);
      expect(result.destinations[0]).toMatchObject({
        action: 'pushed',
        digest: img.digest,
        blobsUploaded: 2,
      });
      for (const f of [limited, unavailable, reset, midUpload, midDownload]) expect(f.served()).toBe(1);
      const log = proxy2.stats().log;
      const i = log.findIndex((e) => e.fault === '429');
      const retry = log.slice(i + 1).find((e) => e.route === 'PUT /v2/:name/manifests/:ref');
      expect(retry?.status).toBe(201);
      expect(retry!.at - log[i]!.at).toBeGreaterThanOrEqual(950);
      expect(
        logger.lines.some((l) => /upload of sha256:\w+ failed .*restarting \(attempt 2\/4\)/.test(l)),
      ).toBe(true);
      expect(await rawHead(open2, 'faulty/dst', '1')).toBe(img.digest);
    } finally {
      proxy.clearFaults();
      proxy2.clearFaults();
    }
  });

  test('a copy that fails outright leaves no tag; a corrupted source blob is detected and never lands', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`fail${++seq}`, { layerBytes: 60_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'broken/src' }, '1', img);

    const { client } = newClient({ uploadAttempts: 2 });
    proxy2.addFault({
      match: (r) => r.route === 'PUT /v2/:name/blobs/uploads/:id',
      times: Infinity,
      fault: { kind: '503' },
    });
    try {
      const err = (await copy(client, `${proxy.host}/broken/src:1`, [`${proxy2.host}/broken/dst:1`]).catch(
        (e: unknown) => e,
      )) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.message).toMatch(/upload blob sha256:\w+ on .*broken\/dst failed: HTTP 503/);
    } finally {
      proxy2.clearFaults();
    }
    expect(await rawHead(open2, 'broken/dst', '1')).toBeUndefined();

    // Corrupt the layer in the source registry's storage (same length): the copy must refuse it.
    const layer = img.blobs[1]!;
    const hex = layer.digest.slice('sha256:'.length);
    const path = join(open.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    const data = await readFile(path);
    const middle = Math.floor(data.length / 2);
    data.writeUInt8(data.readUInt8(middle) ^ 0xff, middle);
    await writeFile(path, data);
    const mismatch = (await copy(client, `${proxy.host}/broken/src:1`, [
      `${proxy2.host}/broken/dst2:1`,
    ]).catch((e: unknown) => e)) as RegistryError;
    expect(mismatch).toBeInstanceOf(RegistryError);
    expect(mismatch.kind).toBe('digest-mismatch');
    expect(mismatch.message).toContain(
      `${proxy.host}/broken/src@${layer.digest} served content that does not match`,
    );
    expect(mismatch.message).toContain(`expected ${layer.digest}`);
    expect(await rawHead(open2, 'broken/dst2', '1')).toBeUndefined();
    expect(
      (await fetch(`${open2.url}/v2/broken/dst2/blobs/${layer.digest}`, { method: 'HEAD' })).status,
    ).toBe(404);
  });

  test('referrers: the sha256-<hex> tag schema is followed and recreated at the destination', async () => {
    const { client } = newClient();
    const repo = { registry: proxy.host, repository: 'signed/app' };
    const img = buildImage(`sig${++seq}`);
    await pushImage(client, repo, '1', img);
    const empty = blobOf('application/vnd.oci.empty.v1+json', Buffer.from('{}'));
    const sig = blobOf('application/vnd.kiln.test.signature', Buffer.from(`signature of ${img.digest}`));
    const artifact: TestImage = {
      bytes: Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          artifactType: 'application/vnd.kiln.test.signature',
          config: { mediaType: empty.mediaType, digest: empty.digest, size: empty.size },
          layers: [{ mediaType: sig.mediaType, digest: sig.digest, size: sig.size }],
          subject: { mediaType: OCI_MANIFEST, digest: img.digest, size: img.bytes.length },
        }),
      ),
      digest: '',
      mediaType: OCI_MANIFEST,
      blobs: [empty, sig],
      children: [],
    };
    artifact.digest = sha256(artifact.bytes);
    await pushImage(client, repo, undefined, artifact);
    const tagIndex = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: OCI_MANIFEST,
            digest: artifact.digest,
            size: artifact.bytes.length,
            artifactType: 'application/vnd.kiln.test.signature',
          },
        ],
      }),
    );
    await client.putManifest(repo, referrersTag(img.digest), { bytes: tagIndex, mediaType: OCI_INDEX });

    const result = await copy(client, `${proxy.host}/signed/app:1`, [`${proxy2.host}/signed/app:1`], {
      referrers: true,
    });
    expect(result.destinations[0]).toMatchObject({ action: 'pushed', referrers: { copied: 1, via: 'tag' } });
    const dst = { registry: proxy2.host, repository: 'signed/app' };
    expect((await client.headManifest(dst, artifact.digest))?.digest).toBe(artifact.digest);
    const listed = await client.listReferrers(dst, img.digest);
    expect(listed.via).toBe('tag');
    expect(listed.descriptors.map((d) => d.digest)).toEqual([artifact.digest]);
  });

  test('chunked upload: a reset in the middle of a PATCH resumes where the registry got to (or starts over if it dropped the session); progress is reported', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`chunk${++seq}`, { layerBytes: 250_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'chunk/src' }, '1', img);
    const layer = img.blobs[1]!;

    const progress: Array<{ digest: string; bytesDone: number; bytesTotal: number }> = [];
    const { client, logger } = newClient({
      chunkSize: 100_000,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    });
    proxy2.resetStats();
    const cut = proxy2.addFault({
      match: (r) => r.method === 'PATCH' && r.headers['content-range'] === '100000-199999',
      times: 1,
      fault: { kind: 'reset-mid-body', afterBytes: 30_000, direction: 'request' },
    });
    try {
      const result = await copy(client, `${proxy.host}/chunk/src:1`, [`${proxy2.host}/chunk/dst:1`]);
      expect(result.destinations[0]).toMatchObject({ action: 'pushed', digest: img.digest });
    } finally {
      proxy2.clearFaults();
    }
    expect(cut.served()).toBe(1);
    // Whether the registry still knows the broken session depends on when it noticed the disconnect: Kiln asks
    // (GET the session) and resumes from its Range, or, when the session is gone, starts over with a new POST.
    const routes = proxy2.stats().byRoute;
    const resumed = logger.lines.some((l) => l.includes('resuming from there'));
    const restarted = logger.lines.some((l) => /upload of sha256:\w+ failed .*restarting/.test(l));
    expect(resumed !== restarted).toBe(true);
    expect(routes['POST /v2/:name/blobs/uploads/']).toBe(resumed ? 2 : 3); // config, layer (, layer again)
    expect(routes['GET /v2/:name/blobs/uploads/:id']).toBeGreaterThanOrEqual(1); // where did it get to?
    const layerProgress = progress.filter((p) => p.digest === layer.digest);
    expect(layerProgress.at(-1)).toMatchObject({ bytesDone: layer.size, bytesTotal: layer.size });
    expect(logger.lines.some((l) => l.includes('KiB /') && l.includes('%)'))).toBe(true);
    expect(await rawHead(open2, 'chunk/dst', '1')).toBe(img.digest);
  });

  test('chunked upload: a 429 and a 503 on PATCHes resume from the registry’s offset; no byte is sent twice', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`resume${++seq}`, { layerBytes: 350_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'resume/src' }, '1', img);
    const layer = img.blobs[1]!;
    const { client, logger } = newClient({ chunkSize: 100_000 });
    proxy2.resetStats();
    const limited = proxy2.addFault({
      match: (r) => r.method === 'PATCH' && r.headers['content-range'] === '100000-199999',
      times: 1,
      fault: { kind: '429', retryAfter: '0' },
    });
    const unavailable = proxy2.addFault({
      match: (r) => r.method === 'PATCH' && r.headers['content-range'] === '200000-299999',
      times: 1,
      fault: { kind: '503' },
    });
    try {
      const result = await copy(client, `${proxy.host}/resume/src:1`, [`${proxy2.host}/resume/dst:1`]);
      expect(result.destinations[0]).toMatchObject({ action: 'pushed', digest: img.digest });
    } finally {
      proxy2.clearFaults();
    }
    expect([limited.served(), unavailable.served()]).toEqual([1, 1]);
    const stats = proxy2.stats();
    expect(stats.byRoute['POST /v2/:name/blobs/uploads/']).toBe(2); // config and layer: never started over
    expect(stats.byRoute['GET /v2/:name/blobs/uploads/:id']).toBe(2); // where did it get to? twice
    // Every byte of the image reached the registry once (the faulted PATCHes were answered by the proxy).
    expect(stats.uploadedBytes).toBe(
      img.blobs.reduce((n, b) => n + (b.digest === layer.digest || b === img.blobs[0] ? b.size : 0), 0),
    );
    expect(logger.lines.filter((l) => l.includes('resuming from there'))).toHaveLength(2);
    expect(await rawHead(open2, 'resume/dst', '1')).toBe(img.digest);
  });

  test('cancellation: aborting mid-upload rejects and leaves no tag', async () => {
    const { client: pusher } = newClient();
    const img = buildImage(`abort${++seq}`, { layerBytes: 200_000 });
    await pushImage(pusher, { registry: proxy.host, repository: 'abort/src' }, '1', img);
    const controller = new AbortController();
    const { client } = newClient({ onProgress: () => controller.abort() });
    await expect(
      copy(client, `${proxy.host}/abort/src:1`, [`${proxy2.host}/abort/dst:1`], {
        signal: controller.signal,
      }),
    ).rejects.toThrow(/abort|cancel/i);
    expect(await rawHead(open2, 'abort/dst', '1')).toBeUndefined();
  });

  test('TLS: loopback https is detected; a self-signed registry needs insecureRegistries; insecure http falls back', async () => {
    const dir = join(work, 'tls');
    const tls = await startTlsRegistry(dir);
    try {
      const img = buildImage(`tls${++seq}`);
      const repo = { registry: tls.host, repository: 'tls/app' };
      // Not listed: plain http first (loopback), the Go server says it speaks TLS, verified https fails.
      const strict = newClient();
      const err = (await strict.client.getManifest(repo, '1').catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.message).toMatch(/certificate/i);
      expect(err.message).toContain(`list it in insecure registries`);
      // Listed: https without verification.
      const lax = newClient({ insecureRegistries: [tls.host] });
      expect((await pushImage(lax.client, repo, '1', img)).digest).toBe(img.digest);
      expect((await lax.client.getManifest(repo, '1')).bytes.equals(img.bytes)).toBe(true);
      // Listed by host (every port): the TLS registry works unverified; the plain one after a failed handshake.
      const plain = newClient({ insecureRegistries: ['127.0.0.1'] });
      const r = await copy(plain.client, `${tls.host}/tls/app:1`, [`${proxy.host}/tls/app:1`]);
      expect(r.destinations[0]).toMatchObject({ action: 'pushed', digest: img.digest });
      expect(
        plain.logger.lines.some((l) => l.includes(`${proxy.host}: TLS handshake failed; using plain http`)),
      ).toBe(true);
    } finally {
      await tls.stop();
    }
  });

  test('push from local files: an OCI layout goes to several registries, tags last; a corrupted file never lands', async () => {
    const layout = await writeOciLayout(join(work, `push-${++seq}`), {
      seed: `push${seq}`,
      randomBytes: 100_000,
    });
    const { client } = newClient();
    const result = await pushLocal(
      localImageSource(layoutImage(layout)),
      [
        `${proxy2.host}/pushed/app:1`,
        `${proxy2.host}/pushed/app:latest`,
        `${basicReg.host}/pushed/app:1`,
      ].map(ref),
      { client },
    );
    expect(result.source).toMatchObject({ digest: layout.manifest.digest, requests: 0 });
    expect(result.destinations.map((d) => [d.ref, d.action, d.digest])).toEqual([
      [`${proxy2.host}/pushed/app:1`, 'pushed', layout.manifest.digest],
      [`${proxy2.host}/pushed/app:latest`, 'pushed', layout.manifest.digest],
      [`${basicReg.host}/pushed/app:1`, 'pushed', layout.manifest.digest],
    ]);
    expect(result.destinations[0]).toMatchObject({ blobsUploaded: 2, bytesUploaded: layout.blobBytes });
    expect(result.destinations[1]).toMatchObject({ blobsUploaded: 0 }); // same repository: content shared
    expect(await rawHead(open2, 'pushed/app', 'latest')).toBe(layout.manifest.digest);
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open2.host}/pushed/app:1`,
    ]);
    expect(Buffer.from(raw.stdout).equals(layout.manifest.bytes)).toBe(true);

    // Corrupt the layer file (same size): refused, nothing tagged.
    const broken = await writeOciLayout(join(work, `push-${++seq}`), { seed: `push${seq}` });
    const file = join(broken.dir, 'blobs', 'sha256', broken.layers[0]!.digest.slice('sha256:'.length));
    const data = await readFile(file);
    data.writeUInt8(data.readUInt8(10) ^ 0xff, 10);
    await writeFile(file, data);
    const err = (await pushLocal(
      localImageSource(layoutImage(broken)),
      [ref(`${proxy2.host}/pushed/broken:1`)],
      {
        client,
      },
    ).catch((e: unknown) => e)) as RegistryError;
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.kind).toBe('digest-mismatch');
    expect(err.message).toContain(
      `oci-layout:${broken.dir}:latest (blob ${broken.layers[0]!.digest}) served content`,
    );
    expect(await rawHead(open2, 'pushed/broken', '1')).toBeUndefined();
  });

  test('interop with skopeo: it reads what Kiln pushed byte for byte; Kiln copies what it pushed', async () => {
    const { client } = newClient();
    const img = buildIndex(`interop${++seq}`);
    await pushImage(client, { registry: open.host, repository: 'interop/kiln' }, '1', img);
    const raw = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open.host}/interop/kiln:1`,
    ]);
    expect(raw.stdout).toBe(img.bytes.toString());
    const child = await skopeo.run([
      'inspect',
      '--tls-verify=false',
      `docker://${open.host}/interop/kiln@${img.children[0]!.digest}`,
    ]);
    expect(JSON.parse(child.stdout).Digest).toBe(img.children[0]!.digest);

    const layout = await writeOciLayout(join(work, `layout-${++seq}`), { seed: String(seq) });
    const pushed = await skopeo.copyTo(layout.ref, `docker://${open.host}/interop/skopeo:1`, {
      extra: ['--preserve-digests'],
    });
    expect(pushed.code).toBe(0);
    const result = await copy(client, `${open.host}/interop/skopeo:1`, [`${open2.host}/interop/skopeo:1`]);
    expect(result.destinations[0]!.digest).toBe(layout.manifest.digest);
    const back = await skopeo.run([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${open2.host}/interop/skopeo:1`,
    ]);
    expect(Buffer.from(back.stdout).equals(layout.manifest.bytes)).toBe(true);
  });
});
