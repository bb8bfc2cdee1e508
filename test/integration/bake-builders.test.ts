/**
 * The builders behind one interface (packages/core/src/bake): buildah for real, buildx through a fake `docker`,
 * Packer for real with offline builders.
 *
 * buildah: real builds as root with `--storage-driver vfs --isolation chroot`, each test in its own `--root` /
 * `--runroot` (removed after it), so nothing leaks between tests or onto the machine. The base image is made here,
 * offline, once: `FROM scratch` + Debian's static busybox + its applets as links, written as an OCI layout that the
 * tests copy into their own storage with skopeo (`containers-storage:[vfs@root+runroot]localhost/kiln-test-base`) and
 * build `FROM` by that name. (`FROM oci:<dir>` works too, but buildah names the image after the directory, which
 * then must be all lower case: the tests' temp dirs are not.) A real registry (test/sim/registry) receives the
 * pushes.
 *
 * buildx: this machine has no Docker daemon, so `docker` is test/fixtures/bake-builders/fake-docker.mjs (first on
 * PATH), which records its arguments and writes the metadata file BuildKit would.
 *
 * Needs: apt-get install -y buildah busybox-static packer docker-registry (the suite fails, it does not skip).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { BuildahBuilder, probeBuildah, type BuildahOptions } from '../../packages/core/src/bake/buildah.js';
import {
  BakeError,
  chooseBuilder,
  VerifyFailedError,
  type BakeRequest,
  type InstalledBuilders,
} from '../../packages/core/src/bake/builder.js';
import { BuildxBuilder, parseBuildxMetadata, probeBuildx } from '../../packages/core/src/bake/buildx.js';
import { PackerBuilder, parsePackerLine, probePacker } from '../../packages/core/src/bake/packer.js';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import { startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, type Skopeo } from '../sim/registry/skopeo.js';
import { exec, removeDir, which } from '../sim/registry/util.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'bake-builders');
const APT = 'apt-get install -y buildah busybox-static packer docker-registry skopeo';
/** The base image's name in each test's storage. */
const BASE = 'localhost/kiln-test-base:latest';
/** Generous: vfs copies every layer, and the machine may be a loaded 2-core one. */
const BUILD_TIMEOUT = 600_000;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const HOST_PLATFORM = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;

/** A Logger that keeps every line, for asserting on what reached the log. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => void lines.push(m);
  return {
    lines,
    debugEnabled: false,
    debug: () => undefined,
    info: keep,
    notice: keep,
    warning: keep,
    error: keep,
    startGroup: keep,
    endGroup: () => undefined,
    group: (t, fn) => {
      lines.push(t);
      return fn();
    },
  };
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Every blob of an OCI layout, gunzipped when compressed (what a layer's files are). */
async function layoutBlobs(dir: string): Promise<{ digest: string; bytes: Buffer }[]> {
  const blobsDir = join(dir, 'blobs', 'sha256');
  const out: { digest: string; bytes: Buffer }[] = [];
  for (const name of await readdir(blobsDir)) {
    const raw = await readFile(join(blobsDir, name));
    const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
    out.push({ digest: `sha256:${name}`, bytes });
  }
  return out;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

interface Index {
  manifests: { mediaType: string; digest: string; annotations?: Record<string, string> }[];
}

async function layoutEntry(dir: string, tag: string) {
  const index = await readJson<Index>(join(dir, 'index.json'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no '${tag}' in ${dir}/index.json: ${JSON.stringify(index)}`);
  return entry;
}

async function blobJson<T>(dir: string, digest: string): Promise<T> {
  return readJson<T>(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
}

describe('buildah builder (real builds: vfs, chroot isolation)', () => {
  let work: string;
  let registry: RunningRegistry;
  let baseLayout: string;
  let skopeo: Skopeo;
  let seq = 0;
  const log = recordingLogger();

  /** A fresh, private buildah storage for one test. */
  const storage = (): BuildahOptions => {
    const dir = join(work, `storage-${++seq}`);
    return {
      root: join(dir, 'root'),
      runroot: join(dir, 'runroot'),
      storageDriver: 'vfs',
      isolation: 'chroot',
    };
  };

  /** A fresh storage holding the base image (copied from its OCI layout by skopeo, as BASE). */
  const seededStorage = async (): Promise<BuildahOptions> => {
    const s = storage();
    await skopeo.run([
      'copy',
      '--quiet',
      `oci:${baseLayout}:latest`,
      `containers-storage:[vfs@${s.root}+${s.runroot}]${BASE}`,
    ]);
    return s;
  };

  const dropStorage = async (s: BuildahOptions) => removeDir(dirname(s.root!));

  /** What is left in a storage: image names and working containers. */
  const leftovers = async (s: BuildahOptions) => {
    const g = ['--root', s.root!, '--runroot', s.runroot!, '--storage-driver', 'vfs'];
    // buildah prints `null` for an empty list.
    const list = async (what: string) =>
      (JSON.parse((await exec('buildah', [...g, what, '--json'])).stdout || 'null') ?? []) as {
        names?: string[] | null;
      }[];
    const images = await list('images');
    const containers = await list('containers');
    return {
      bakeImages: images.flatMap((i) => i.names ?? []).filter((n) => n.includes('kiln-bake-')),
      containers: containers.length,
    };
  };

  const request = (over: Partial<BakeRequest>): BakeRequest => ({
    context: join(FIXTURES, 'app'),
    buildArgs: {},
    labels: {},
    platforms: [],
    secrets: [],
    tags: [],
    signal: new AbortController().signal,
    log,
    ...over,
  });

  const registryDigest = async (repo: string, tag: string): Promise<string | undefined> => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, {
      headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}` },
    });
    await res.arrayBuffer();
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  };

  beforeAll(async () => {
    const missing = [
      which('buildah') ? undefined : 'buildah',
      existsSync('/bin/busybox') ? undefined : 'busybox-static (/bin/busybox)',
      which('skopeo') ? undefined : 'skopeo',
    ].filter(Boolean);
    if (missing.length > 0)
      throw new Error(`the buildah tests need ${missing.join(', ')}; install with: ${APT}`);
    work = await mkdtemp(join(tmpdir(), 'kiln-bake-'));
    registry = await startRegistry();
    skopeo = await createSkopeo();

    // The base image, once: busybox-static and its applets, as an OCI layout.
    const ctx = join(work, 'base-context');
    await mkdir(ctx);
    await copyFile(join(FIXTURES, 'base', 'Containerfile'), join(ctx, 'Containerfile'));
    await copyFile('/bin/busybox', join(ctx, 'busybox'));
    baseLayout = join(work, 'base');
    const s = storage();
    const base = await new BuildahBuilder(s).bake(
      request({ context: ctx, ociLayout: baseLayout, ociLayoutTag: 'latest', timestamp: 0 }),
    );
    expect(base.digest).toMatch(DIGEST);
    await dropStorage(s);
  }, BUILD_TIMEOUT);

  afterAll(async () => {
    await registry?.stop();
    await skopeo?.close();
    if (work) await removeDir(work);
  });

  /** The app request: base from the layout, a build arg, target `app`, the secret. */
  const appRequest = async (over: Partial<BakeRequest> = {}) => {
    const secretValue = `kiln-secret-${randomBytes(16).toString('hex')}`;
    const secretFile = join(work, `token-${++seq}`);
    await writeFile(secretFile, secretValue, { mode: 0o600 });
    return {
      secretValue,
      req: request({
        buildArgs: { BASE, GREETING: 'hi from a build arg' },
        labels: { 'org.opencontainers.image.source': 'https://example.com/kiln' },
        target: 'app',
        secrets: [{ id: 'token', src: secretFile }],
        timestamp: 1_700_000_000,
        ...over,
      }),
    };
  };

  /** A verify command proving the build arg, the COPY, the target and that the secret was there during RUN. */
  const checkImage = (secretValue: string) => [
    'sh',
    '-c',
    [
      'test "$(cat /greeting)" = "hi from a build arg"',
      'test "$(cat /message.txt)" = "baked by kiln"',
      `test $(cat /secret-length) -eq ${secretValue.length}`,
      'test ! -s /run/secrets/token',
      'echo image checked',
    ].join(' && '),
  ];

  test(
    'a multi-stage build (RUN, build args, target, labels, a secret) is verified, written as an OCI layout and pushed: one digest, no secret in any layer',
    async () => {
      const s = await seededStorage();
      const layout = join(work, 'app-layout');
      const { req, secretValue } = await appRequest({
        tags: [`${registry.host}/bake/app:v1`, `${registry.host}/bake/app:stable`],
        push: true,
        tlsVerify: false,
        ociLayout: layout,
      });
      const result = await new BuildahBuilder(s).bake({ ...req, verify: { argv: checkImage(secretValue) } });

      expect(result.builder).toBe('buildah');
      expect(result.digest).toMatch(DIGEST);
      expect(result.mediaType).toBe(OCI_MANIFEST);
      expect(result.platforms).toEqual([HOST_PLATFORM]);
      expect(result.verify).toMatchObject({ passed: true, exitCode: 0 });
      expect(result.verify?.outputTail).toContain('image checked');
      expect(result.pushed).toEqual([`${registry.host}/bake/app:v1`, `${registry.host}/bake/app:stable`]);
      expect(result.image).toBe(`${registry.host}/bake/app@${result.digest}`);
      // The registry and the layout hold the same manifest.
      expect(await registryDigest('bake/app', 'v1')).toBe(result.digest);
      expect(await registryDigest('bake/app', 'stable')).toBe(result.digest);
      const entry = await layoutEntry(layout, 'v1');
      expect(entry.digest).toBe(result.digest);
      expect(result.ociLayout).toBe(layout);
      expect(result.ociLayoutTag).toBe('v1');

      // Labels from the file (stage `app`) and from the request; created at the timestamp.
      const manifest = await blobJson<{ config: { digest: string }; layers: { digest: string }[] }>(
        layout,
        result.digest,
      );
      const config = await blobJson<{ created: string; config: { Labels: Record<string, string> } }>(
        layout,
        manifest.config.digest,
      );
      expect(config.config.Labels).toMatchObject({
        'org.example.stage': 'app',
        'org.opencontainers.image.source': 'https://example.com/kiln',
      });
      expect(config.created).toBe('2023-11-14T22:13:20Z');

      // The secret's value is in no blob (layers unpacked), in no log line; its length is (it was mounted).
      const blobs = await layoutBlobs(layout);
      expect(blobs.length).toBeGreaterThanOrEqual(manifest.layers.length + 2);
      for (const b of blobs)
        expect({ blob: b.digest, leaks: b.bytes.includes(secretValue) }).toEqual({
          blob: b.digest,
          leaks: false,
        });
      expect(log.lines.some((l) => l.includes(secretValue))).toBe(false);
      expect(blobs.some((b) => b.bytes.includes('baked by kiln'))).toBe(true);

      // The throw-away local image and the verify container are gone.
      expect(await leftovers(s)).toEqual({ bakeImages: [], containers: 0 });
      await dropStorage(s);
    },
    BUILD_TIMEOUT,
  );

  test(
    'reproducible: two builds of the same inputs with --timestamp, in separate storages, give one digest',
    async () => {
      const { req } = await appRequest();
      const digests: string[] = [];
      for (const n of [1, 2]) {
        const s = await seededStorage();
        const r = await new BuildahBuilder(s).bake({
          ...req,
          ociLayout: join(work, `repro-${n}`),
          ociLayoutTag: 'r',
        });
        digests.push(r.digest);
        await dropStorage(s);
      }
      expect(digests[0]).toMatch(DIGEST);
      expect(digests[1]).toBe(digests[0]);
      // The blobs are the same bytes too.
      const names = async (n: number) => (await readdir(join(work, `repro-${n}`, 'blobs', 'sha256'))).sort();
      expect(await names(2)).toEqual(await names(1));
    },
    BUILD_TIMEOUT,
  );

  test(
    'a failing verify fails the bake with its exit code and output, and nothing is pushed or written',
    async () => {
      const s = await seededStorage();
      const layout = join(work, 'refused-layout');
      const { req } = await appRequest({
        tags: [`${registry.host}/bake/refused:v1`],
        push: true,
        tlsVerify: false,
        ociLayout: layout,
        verify: { argv: ['sh', '-c', 'echo "checking /greeting"; grep -q nope /greeting || exit 3'] },
      });
      const err = await new BuildahBuilder(s).bake(req).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VerifyFailedError);
      const v = (err as VerifyFailedError).result;
      expect(v).toMatchObject({ passed: false, exitCode: 3, timedOut: false });
      expect(v.outputTail).toEqual(['checking /greeting']);
      expect((err as Error).message).toBe(
        'verify exited with 3; nothing was pushed or written (last output: checking /greeting)',
      );
      expect(existsSync(layout)).toBe(false);
      expect((await readdir(work)).filter((n) => n.includes('refused-layout'))).toEqual([]);
      expect(await registryDigest('bake/refused', 'v1')).toBeUndefined();
      expect(await leftovers(s)).toEqual({ bakeImages: [], containers: 0 });
      await dropStorage(s);
    },
    BUILD_TIMEOUT,
  );

  test(
    'the staged API: build() to local storage, verify() (exit code, timeout, pass), export(), discard()',
    async () => {
      const s = await seededStorage();
      const builder = new BuildahBuilder(s);
      const { req, secretValue } = await appRequest({ ociLayout: join(work, 'staged-layout') });
      const image = await builder.build(req);
      expect(image).toMatchObject({ builder: 'buildah', list: false, platforms: [HOST_PLATFORM] });
      expect(image.name).toMatch(/^localhost\/kiln-bake-[0-9a-f]{12}$/);
      expect(existsSync(join(work, 'staged-layout'))).toBe(false);

      const failed = await builder.verify(image, {
        argv: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
        log,
        signal: req.signal,
      });
      expect(failed).toMatchObject({ passed: false, exitCode: 4, timedOut: false });
      expect(failed.outputTail).toEqual(expect.arrayContaining(['out', 'err']));
      expect(failed.outputTail.some((l) => /exit status/.test(l))).toBe(false);

      const stuck = await builder.verify(image, {
        argv: ['sleep', '600'],
        timeoutMs: 1500,
        log,
        signal: req.signal,
      });
      expect(stuck).toMatchObject({ passed: false, exitCode: null, timedOut: true });

      const missing = await builder.verify(image, { argv: ['/no/such/program'], log, signal: req.signal });
      expect(missing.passed).toBe(false);

      const passed = await builder.verify(image, { argv: checkImage(secretValue), log, signal: req.signal });
      expect(passed).toMatchObject({ passed: true, exitCode: 0 });

      const result = await builder.export(image, req);
      expect((await layoutEntry(join(work, 'staged-layout'), 'latest')).digest).toBe(result.digest);
      expect(result.pushed).toEqual([]);
      // A second export adds to the existing layout.
      const again = await builder.export(image, { ...req, ociLayoutTag: 'second' });
      expect(again.digest).toBe(result.digest);
      expect((await layoutEntry(join(work, 'staged-layout'), 'second')).digest).toBe(result.digest);
      expect((await layoutEntry(join(work, 'staged-layout'), 'latest')).digest).toBe(result.digest);
      await builder.discard(image, req);
      expect(await leftovers(s)).toEqual({ bakeImages: [], containers: 0 });
      await dropStorage(s);
    },
    BUILD_TIMEOUT,
  );

  test(
    "a failing RUN is a BakeError with buildah's own error line; nothing is written",
    async () => {
      const s = await seededStorage();
      const layout = join(work, 'failed-layout');
      const err = await new BuildahBuilder(s)
        .bake(
          request({
            context: join(FIXTURES, 'fail'),
            buildArgs: { BASE },
            ociLayout: layout,
          }),
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(BakeError);
      expect((err as BakeError).message).toBe(
        'buildah build failed: building at STEP "RUN echo "about to fail" && exit 7": exit status 7',
      );
      expect((err as BakeError).logTail).toContain('about to fail');
      expect(existsSync(layout)).toBe(false);
      expect(await leftovers(s)).toEqual({ bakeImages: [], containers: 0 });
      await dropStorage(s);
    },
    BUILD_TIMEOUT,
  );

  test(
    'several platforms without RUN (no emulation needed): a manifest list written as an OCI index',
    async () => {
      const s = storage();
      const layout = join(work, 'multi-layout');
      const result = await new BuildahBuilder(s).bake(
        request({
          context: join(FIXTURES, 'multiarch'),
          platforms: ['linux/amd64', 'linux/arm64'],
          timestamp: 0,
          ociLayout: layout,
          ociLayoutTag: 'multi',
        }),
      );
      expect(result.mediaType).toBe(OCI_INDEX);
      expect(result.platforms.sort()).toEqual(['linux/amd64', 'linux/arm64']);
      const entry = await layoutEntry(layout, 'multi');
      expect(entry).toMatchObject({ digest: result.digest, mediaType: OCI_INDEX });
      const index = await blobJson<{ manifests: { platform: { architecture: string; os: string } }[] }>(
        layout,
        result.digest,
      );
      expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual([
        'linux/amd64',
        'linux/arm64',
      ]);
      // The list and both images are gone from local storage.
      const g = ['--root', s.root!, '--runroot', s.runroot!, '--storage-driver', 'vfs'];
      expect(JSON.parse((await exec('buildah', [...g, 'images', '--all', '--json'])).stdout || '[]')).toEqual(
        [],
      );
      await dropStorage(s);
    },
    BUILD_TIMEOUT,
  );

  test('checks the request before building: one line naming the mistake', async () => {
    const b = new BuildahBuilder(storage());
    const bad = async (over: Partial<BakeRequest>) =>
      b.bake(request(over)).then(
        () => 'built',
        (e: unknown) =>
          e instanceof ConfigurationError ? e.message : `not a ConfigurationError: ${String(e)}`,
      );
    expect(await bad({ context: join(work, 'nowhere') })).toMatch(
      /^build context '.*nowhere' is not a directory$/,
    );
    expect(await bad({ secrets: [{ id: 'token', src: join(work, 'no-such-secret') }] })).toMatch(
      /^secret 'token': '.*no-such-secret' is not a readable file$/,
    );
    expect(await bad({ platforms: ['amd64'] })).toBe(
      "platform 'amd64': expected os/arch[/variant], e.g. linux/arm64",
    );
    expect(await bad({ push: true })).toBe('push is on but no tags were given to push to');
    expect(await bad({ tags: ['Bad/Name'] })).toMatch(/^invalid image reference/);
    expect(await bad({ buildArgs: { 'A-B': '1' } })).toBe(
      "build arg 'A-B': expected a name of letters, digits and _",
    );
    expect(await bad({ ociLayout: join(work, 'a:b') })).toMatch(/has a ':' or ','/);
    expect(await bad({ ociLayout: FIXTURES })).toMatch(
      /is a directory with other files in it, not an OCI layout$/,
    );
  });

  test('buildah is found here; docker buildx is not usable; the auto choice is buildah', async () => {
    const buildah = await probeBuildah();
    expect(buildah).toMatchObject({ available: true });
    expect(buildah.version).toMatch(/^buildah version \d/);
    const buildx = await probeBuildx();
    expect(buildx.available).toBe(false);
    expect(chooseBuilder({ buildx, buildah }).builder).toBe('buildah');
  });
});

describe('buildx builder (a fake docker: no daemon here)', () => {
  let work: string;
  let bin: string;
  let logFile: string;
  let secret: string;
  const log = recordingLogger();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'kiln-buildx-'));
    bin = join(work, 'bin');
    await mkdir(bin);
    // Node reads the link's target (.mjs) as an ES module.
    await symlink(join(FIXTURES, 'fake-docker.mjs'), join(bin, 'docker'));
    await mkdir(join(work, 'ctx'));
    await writeFile(join(work, 'ctx', 'Dockerfile'), 'FROM scratch\n');
    secret = join(work, 'npmrc');
    await writeFile(secret, 'token=never-read-by-kiln\n', { mode: 0o600 });
  });

  afterAll(async () => {
    if (work) await removeDir(work);
  });

  /** The environment of one test: the fake first on PATH, its own record file, a mode. */
  const fakeEnv = (mode = 'ok') => {
    logFile = join(work, `calls-${randomBytes(4).toString('hex')}.jsonl`);
    return {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      FAKE_DOCKER_LOG: logFile,
      FAKE_DOCKER_MODE: mode,
    };
  };
  const calls = async () =>
    (await readFile(logFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; env: { SOURCE_DATE_EPOCH?: string } });

  const request = (over: Partial<BakeRequest>): BakeRequest => ({
    context: join(work, 'ctx'),
    buildArgs: {},
    labels: {},
    platforms: [],
    secrets: [],
    tags: [],
    signal: new AbortController().signal,
    log,
    ...over,
  });

  /** The digest the fake derives from its arguments (the metadata file's path left out). */
  const fakeDigest = (argv: string[]) => {
    const at = argv.indexOf('--metadata-file');
    return sha256(JSON.stringify(argv.filter((_, i) => i !== at + 1)));
  };

  test('maps every input to buildx flags; provenance off; push and an OCI layout as two outputs; the digest from the metadata file', async () => {
    const env = fakeEnv();
    const layout = join(work, 'layout');
    const result = await new BuildxBuilder().bake(
      request({
        env,
        file: join(work, 'ctx', 'Dockerfile'),
        target: 'app',
        buildArgs: { VERSION: '1.2.3', NOTE: 'two words, a comma' },
        labels: { 'org.opencontainers.image.revision': 'abc123' },
        platforms: ['linux/amd64', 'linux/arm64'],
        secrets: [{ id: 'npmrc', src: secret }],
        tags: ['registry.example.com/team/app:1.2.3', 'registry.example.com/team/app'],
        push: true,
        ociLayout: layout,
        timestamp: 1_700_000_000,
      }),
    );
    const [call] = await calls();
    const argv = call!.argv;
    const metadata = argv[argv.indexOf('--metadata-file') + 1]!;
    expect(argv).toEqual([
      'buildx',
      'build',
      '--progress=plain',
      '--file',
      join(work, 'ctx', 'Dockerfile'),
      '--target',
      'app',
      '--build-arg',
      'VERSION=1.2.3',
      '--build-arg',
      'NOTE=two words, a comma',
      '--label',
      'org.opencontainers.image.revision=abc123',
      '--platform',
      'linux/amd64,linux/arm64',
      '--secret',
      `id=npmrc,src=${secret}`,
      '--tag',
      'registry.example.com/team/app:1.2.3',
      '--tag',
      'registry.example.com/team/app:latest',
      '--provenance=false',
      '--metadata-file',
      metadata,
      '--output',
      'type=registry,rewrite-timestamp=true',
      '--output',
      `type=oci,dest=${layout},tar=false,name=registry.example.com/team/app:1.2.3,rewrite-timestamp=true`,
      join(work, 'ctx'),
    ]);
    expect(call!.env.SOURCE_DATE_EPOCH).toBe('1700000000');
    expect(existsSync(metadata)).toBe(false); // its temp dir is removed
    expect(result).toMatchObject({
      builder: 'buildx',
      digest: fakeDigest(argv),
      mediaType: OCI_INDEX,
      platforms: ['linux/amd64', 'linux/arm64'],
      pushed: ['registry.example.com/team/app:1.2.3', 'registry.example.com/team/app:latest'],
      image: `registry.example.com/team/app@${fakeDigest(argv)}`,
      ociLayout: layout,
      ociLayoutTag: '1.2.3',
    });
    expect(log.lines).toContain('#9 exporting to image');
  });

  test('push alone is --push; provenance only when asked; nothing to write is --load; an insecure registry is registry.insecure', async () => {
    const env = fakeEnv();
    const tags = ['ghcr.io/org/app:v1'];
    await new BuildxBuilder().bake(request({ env, tags, push: true }));
    await new BuildxBuilder().bake(request({ env, tags, push: true, provenance: true }));
    await new BuildxBuilder({ builder: 'kiln' }).bake(request({ env }));
    await new BuildxBuilder().bake(request({ env, tags, push: true, tlsVerify: false }));
    const [plain, prov, load, insecure] = (await calls()).map((c) => c.argv);
    expect(plain).toEqual(expect.arrayContaining(['--push', '--provenance=false']));
    expect(plain).not.toContain('--output');
    expect(plain!.at(-1)).toBe(join(work, 'ctx'));
    expect(prov).toEqual(expect.arrayContaining(['--push', '--provenance=true']));
    expect(load!.slice(0, 4)).toEqual(['buildx', 'build', '--builder', 'kiln']);
    expect(load).toContain('--load');
    expect(load).not.toContain('--push');
    expect(insecure).toEqual(expect.arrayContaining(['--output', 'type=registry,registry.insecure=true']));
    expect(insecure).not.toContain('--push');
  });

  test("a failed build is a BakeError with BuildKit's ERROR line; a metadata file without a digest is one too", async () => {
    const failed = await new BuildxBuilder().bake(request({ env: fakeEnv('fail') })).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(BakeError);
    expect((failed as BakeError).message).toBe(
      'docker buildx build failed: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
    );
    expect((failed as BakeError).logTail).toContain('#5 [2/2] RUN exit 3');
    const noDigest = await new BuildxBuilder()
      .bake(request({ env: fakeEnv('no-digest') }))
      .catch((e: unknown) => e);
    expect((noDigest as BakeError).message).toBe(
      "buildx's metadata has no containerimage.digest (got undefined)",
    );
    const verify = await new BuildxBuilder()
      .bake(request({ env: fakeEnv(), verify: { argv: ['true'] } }))
      .catch((e: unknown) => e);
    expect(verify).toBeInstanceOf(ConfigurationError);
  });

  test('parses the metadata file BuildKit writes', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    expect(
      parseBuildxMetadata(
        JSON.stringify({
          'containerimage.descriptor': { mediaType: OCI_MANIFEST, digest: d, size: 10 },
          'containerimage.digest': d,
          'containerimage.config.digest': `sha256:${'b'.repeat(64)}`,
          'image.name': 'ghcr.io/org/app:v1',
        }),
      ),
    ).toEqual({
      digest: d,
      mediaType: OCI_MANIFEST,
      configDigest: `sha256:${'b'.repeat(64)}`,
      imageName: 'ghcr.io/org/app:v1',
    });
    expect(parseBuildxMetadata(JSON.stringify({ 'containerimage.descriptor': { digest: d } })).digest).toBe(
      d,
    );
    expect(() => parseBuildxMetadata('not json')).toThrow('not JSON');
  });

  test('probe: buildx and a daemon → usable; no daemon or no plugin → not, with the reason', async () => {
    expect(await probeBuildx({ env: fakeEnv() })).toEqual({
      available: true,
      version: 'github.com/docker/buildx v0.17.1 257815a6fb95ae5ec6fdcbf19e80e9b1eb3e4a3c; Docker 27.3.1',
    });
    const noDaemon = await probeBuildx({ env: fakeEnv('no-daemon') });
    expect(noDaemon.available).toBe(false);
    expect(noDaemon.why).toMatch(/^no Docker daemon answers \(Cannot connect to the Docker daemon/);
    const noPlugin = await probeBuildx({ env: fakeEnv('no-buildx') });
    expect(noPlugin).toEqual({
      available: false,
      why: 'docker buildx is not installed (docker: unknown command: docker buildx)',
    });
    expect(await probeBuildx({ docker: join(work, 'no-docker-here') })).toEqual({
      available: false,
      why: 'docker is not on PATH',
    });
  });
});

describe('chooseBuilder', () => {
  const yes = { available: true, version: 'v1' };
  const no = (why: string) => ({ available: false, why });
  const installed = (buildx: boolean, buildah: boolean, packer = false): InstalledBuilders => ({
    buildx: buildx ? yes : no('no Docker daemon answers'),
    buildah: buildah ? yes : no('buildah is not on PATH'),
    packer: packer ? yes : no('packer is not on PATH'),
  });

  test('auto: buildx with a daemon, else buildah, else layer-append', () => {
    expect(chooseBuilder(installed(true, true)).builder).toBe('buildx');
    expect(chooseBuilder(installed(false, true)).builder).toBe('buildah');
    expect(chooseBuilder(installed(false, true), 'auto')).toEqual({
      builder: 'buildah',
      reason: 'buildah is installed (v1); buildx is not usable: no Docker daemon answers',
    });
    expect(chooseBuilder(installed(false, false))).toEqual({
      builder: 'layer-append',
      reason: 'neither buildx (no Docker daemon answers) nor buildah (buildah is not on PATH) can run here',
    });
  });

  test('an explicit builder wins; one that cannot run here, or an unknown name, is a ConfigurationError', () => {
    expect(chooseBuilder(installed(true, true), 'buildah').builder).toBe('buildah');
    expect(chooseBuilder(installed(true, true), 'layer-append').builder).toBe('layer-append');
    expect(chooseBuilder(installed(false, false, true), 'packer').builder).toBe('packer');
    expect(() => chooseBuilder(installed(false, true), 'buildx')).toThrow(
      new ConfigurationError("builder 'buildx' was asked for but cannot run here: no Docker daemon answers"),
    );
    expect(() => chooseBuilder(installed(true, true), 'kaniko')).toThrow(ConfigurationError);
  });
});

describe('packer builder (Packer 1.6.6, offline builders)', () => {
  let work: string;
  const log = recordingLogger();
  const request = (template: string, over: Record<string, unknown> = {}) => ({
    template: join(work, template),
    vars: {},
    only: [],
    signal: new AbortController().signal,
    log,
    ...over,
  });

  beforeAll(async () => {
    if (!which('packer')) throw new Error(`the packer tests need packer; install with: ${APT}`);
    work = await mkdtemp(join(tmpdir(), 'kiln-packer-'));
    await cp(join(FIXTURES, 'packer'), work, { recursive: true });
  });

  afterAll(async () => {
    if (work) await removeDir(work);
  });

  test('runs a template (file + null builders, -var): artifact ids from the machine-readable output and the manifest', async () => {
    const result = await new PackerBuilder().bake(
      request('artifacts.json', { vars: { greeting: 'hi', out: 'greeting.txt' } }),
    );
    expect(await readFile(join(work, 'greeting.txt'), 'utf8')).toBe('hi, world');
    expect(result.builder).toBe('packer');
    // The file builder's artifact id is "File" (its path is in files); the null builder's is "Null".
    expect(result.artifactIds).toEqual(['File', 'Null']);
    expect(result.digest).toBe('artifact=File,nothing=Null');
    expect(result.artifacts).toEqual(
      expect.arrayContaining([
        {
          build: 'artifact',
          index: 0,
          id: 'File',
          builderId: 'packer.file',
          description: 'Stored file: greeting.txt',
          files: ['greeting.txt'],
        },
        expect.objectContaining({ build: 'nothing', index: 0, id: 'Null' }),
      ]),
    );
    expect(result.manifestBuilds?.map((b) => [b.name, b.builderType, b.artifactId, b.files]).sort()).toEqual([
      ['artifact', 'file', 'File', ['greeting.txt']],
      ['nothing', 'null', 'Null', []],
    ]);
    // ui lines reach the log unescaped; the data lines do not.
    expect(log.lines.some((l) => l.includes('provisioned, with a comma'))).toBe(true);
    expect(log.lines.some((l) => /^\d+,/.test(l))).toBe(false);
  });

  test('-only runs one build; the manifest returns only this run', async () => {
    const result = await new PackerBuilder().bake(
      request('artifacts.json', { only: ['artifact'], vars: { out: 'only.txt' } }),
    );
    expect(result.digest).toBe('File');
    expect(result.artifacts.every((a) => a.build === 'artifact')).toBe(true);
    expect(result.manifestBuilds).toEqual([
      { name: 'artifact', builderType: 'file', artifactId: 'File', files: ['only.txt'] },
    ]);
    expect(existsSync(join(work, 'only.txt'))).toBe(true);
  });

  test("a failing build is reported with Packer's own error line, one line", async () => {
    const err = await new PackerBuilder().bake(request('failing.json')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BakeError);
    const message = (err as BakeError).message;
    expect(message).toMatch(
      /^packer build failed: Build 'broken' errored after .*: Script exited with non-zero exit status: 1\.Allowed exit codes are: \[0\]$/,
    );
    expect(message).not.toContain('\n');
    expect((err as BakeError).logTail).toContain('    broken: about to fail');
  });

  test('a template Packer cannot load, or no template, is a ConfigurationError in one line', async () => {
    const invalid = await new PackerBuilder().bake(request('invalid.json')).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ConfigurationError);
    expect((invalid as Error).message).toBe(
      `packer could not run '${join(work, 'invalid.json')}': Error: Failed to initialize build "nowhere": error initializing builder 'no-such-builder': Unknown builder no-such-builder`,
    );
    const missing = await new PackerBuilder().bake(request('missing.json')).catch((e: unknown) => e);
    expect((missing as Error).message).toBe(`packer template '${join(work, 'missing.json')}' is not a file`);
  });

  test('machine-readable lines: fields, escapes; packer is found', async () => {
    expect(
      parsePackerLine('1700000000,web,artifact,0,id,us-east-1:ami-1%!(PACKER_COMMA)us-west-2:ami-2'),
    ).toEqual({
      timestamp: 1700000000,
      target: 'web',
      type: 'artifact',
      data: ['0', 'id', 'us-east-1:ami-1,us-west-2:ami-2'],
    });
    expect(parsePackerLine('1700000000,,ui,say,\\n==> Builds finished')?.data).toEqual([
      'say',
      '\n==> Builds finished',
    ]);
    expect(parsePackerLine('2024/01/01 plugin log line')).toBeUndefined();
    expect((await probePacker()).version).toMatch(/^Packer v\d/);
  });
});
