/**
 * Bake-time verification for layer-append (packages/core/src/bake/verify.ts), for real: a CNCF distribution
 * registry, a base image of Debian's static busybox (its applets as links, written with Kiln's own tar writer),
 * images unpacked from OCI layouts into temp root file systems and commands run there with chroot(8) /
 * unshare(1) as root. No container runtime and no network beyond 127.0.0.1.
 *
 * - a passing verify: the image is pushed under its tag, with the digest an unverified bake of the same inputs
 *   gives; a failing one (exit 3): VerifyFailedError with the exit code and the output's tail, and the registry
 *   has no tag, no manifest, no layer, not even the repository; the temp dirs are gone either way;
 * - unpacking: whiteouts (`.wh.<name>`, `.wh..wh..opq`) applied, modes, links and hard links kept, and nothing
 *   written outside the root whatever links and `..` names a layer holds;
 * - the command's user, groups, working directory and environment; its deadline (the whole process group is
 *   stopped, also a shell that ignores SIGTERM) and cancellation; not root → skipped, with the reason.
 *
 * Needs: apt-get install -y docker-registry busybox-static (the suite fails, it does not skip) and root.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { VerifyFailedError } from '../../packages/core/src/bake/builder.js';
import { appendLayers, type AppendLayersOptions } from '../../packages/core/src/bake/layer-append.js';
import { buildLayer } from '../../packages/core/src/bake/layer.js';
import {
  appendLayersVerified,
  hostPlatform,
  unpackRootfs,
  VERIFY_NEEDS_ROOT,
  verifyInRootfs,
  verifyLayoutImage,
} from '../../packages/core/src/bake/verify.js';
import { CancelledError } from '../../packages/core/src/errors.js';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import {
  MANIFEST_ACCEPT,
  OCI_MANIFEST,
  RegistryClient,
  type RepositoryRef,
} from '../../packages/core/src/registry/index.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'bake-verify');
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const BASE_CREATED = '2024-01-02T03:04:05Z';
const APPLETS = ['sh', 'test', '[', 'id', 'pwd', 'echo', 'sleep', 'cat', 'ls', 'env', 'true', 'false'];
/** Generous: the machine may be a loaded 2-core one. */
const SLOW = 120_000;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One tar entry for {@link tarOf}: a file (`data`), a directory, a symlink or a hard link (`link`). */
interface Entry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  mode?: number;
  data?: string;
  link?: string;
}

/** A ustar archive written by hand, so a test can put in what Kiln's writer never would (`..`, whiteouts). */
function tarOf(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = Buffer.from(type === 'file' ? (e.data ?? '') : '');
    const h = Buffer.alloc(512, 0);
    const put = (value: string, offset: number, length: number) => h.write(value, offset, length, 'utf8');
    const octal = (n: number, length: number) => n.toString(8).padStart(length - 1, '0') + '\0';
    put(e.name, 0, 100);
    put(octal(e.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 8);
    put(octal(0, 8), 108, 8);
    put(octal(0, 8), 116, 8);
    put(octal(data.length, 12), 124, 12);
    put(octal(1_700_000_000, 12), 136, 12);
    put('        ', 148, 8);
    put({ file: '0', hardlink: '1', symlink: '2', dir: '5' }[type], 156, 1);
    if (e.link !== undefined) put(e.link, 157, 100);
    put('ustar\0', 257, 6);
    put('00', 263, 2);
    let sum = 0;
    for (const byte of h) sum += byte;
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
    parts.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

async function blobJson<T>(layout: string, digest: string): Promise<T> {
  return JSON.parse(
    await readFile(join(layout, 'blobs/sha256', digest.slice('sha256:'.length)), 'utf8'),
  ) as T;
}

/** A Logger keeping every line, that can act on one (abort when a command says it started). */
function recordingLogger(onLine?: (line: string) => void): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (m: string) => {
    lines.push(m);
    onLine?.(m);
  };
  return {
    lines,
    debugEnabled: true,
    debug: keep,
    info: keep,
    notice: keep,
    warning: (m) => keep(`warning: ${m}`),
    error: keep,
    startGroup: keep,
    endGroup: () => undefined,
    group: (t, fn) => {
      keep(t);
      return fn();
    },
  };
}

/** Processes still running in a root under a `kiln-verify-` temp dir (removed or not). */
async function verifyProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const root = await readlink(`/proc/${pid}/root`);
      if (root.includes('kiln-verify-')) {
        found.push(`${pid} ${(await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ')}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe('bake: verify for layer-append (registry, chroot, busybox)', () => {
  let reg: RunningRegistry;
  let work: string;
  let client: RegistryClient;
  let busyboxTar: Buffer;
  let seq = 0;
  const arch = hostPlatform().architecture;

  const fresh = (name: string) => mkdtemp(join(work, `${name}-`));
  const ref = (s: string) => parseImageReference(`${reg.host}/${s}`);
  const head = async (repo: string, what: 'manifests' | 'blobs', reference: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/${what}/${reference}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? '') : undefined;
  };

  /** Pushes an OCI image of these uncompressed layers (busybox first unless `tars` says otherwise). */
  const pushBase = async (repository: string, tars: Buffer[]) => {
    const repo: RepositoryRef = { registry: reg.host, repository };
    const layers = tars.map((t) => gzipSync(t));
    const config = Buffer.from(
      JSON.stringify({
        architecture: arch,
        os: 'linux',
        created: BASE_CREATED,
        config: { Env: ['PATH=/bin', 'LANG=C'], Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: tars.map(sha256) },
        history: tars.map((_, i) => ({ created: BASE_CREATED, created_by: `base layer ${i}` })),
      }),
    );
    const blobs = [
      { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length, bytes: config },
      ...layers.map((l) => ({ mediaType: OCI_LAYER, digest: sha256(l), size: l.length, bytes: l })),
    ];
    for (const b of blobs) await client.uploadBlob(repo, b, b.bytes);
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: blobs[0]!.digest, size: blobs[0]!.size },
        layers: blobs.slice(1).map(({ mediaType, digest, size }) => ({ mediaType, digest, size })),
      }),
    );
    await client.putManifest(repo, '1', { bytes, mediaType: OCI_MANIFEST });
    return parseImageReference(`${reg.host}/${repository}:1`);
  };

  /** The app directory (test/fixtures/bake-verify/app), copied so its modes are the test's. */
  const appDir = async () => {
    const dir = await fresh('app');
    await cp(join(FIXTURES, 'app'), dir, { recursive: true });
    await chmod(join(dir, 'run'), 0o755);
    return dir;
  };

  /** A layout holding base + layers (no registry target), for the tests of the parts. */
  const layoutOf = async (
    base: ReturnType<typeof parseImageReference>,
    layers: AppendLayersOptions['layers'],
  ) => {
    const dir = join(await fresh('layout'), 'oci');
    const r = await appendLayers({ client, base, layers, ociLayout: { dir, tag: 'v1' }, workDir: work });
    return { dir, digest: r.digest };
  };

  beforeAll(async () => {
    const missing = [
      registryAvailable() ? undefined : 'docker-registry',
      existsSync('/bin/busybox') ? undefined : 'busybox-static (/bin/busybox)',
    ].filter(Boolean);
    if (missing.length > 0)
      throw new Error(
        `the verify tests need ${missing.join(', ')}; apt-get install -y docker-registry busybox-static`,
      );
    if (process.getuid?.() !== 0)
      throw new Error('the verify tests run commands under chroot: run them as root');
    work = await mkdtemp(join(tmpdir(), 'kiln-verify-test-'));
    reg = await startRegistry({ logLevel: 'error' });
    const emptyConfig = join(work, 'docker-empty');
    await mkdir(emptyConfig);
    client = new RegistryClient({
      logger: new MemoryLogger(true),
      env: { PATH: process.env.PATH, HOME: work },
      dockerConfigDir: emptyConfig,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    });
    // busybox and its applets, as one layer written by Kiln's tar writer.
    const root = await fresh('busybox-root');
    await mkdir(join(root, 'bin'));
    await copyFile('/bin/busybox', join(root, 'bin/busybox'));
    await chmod(join(root, 'bin/busybox'), 0o755);
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    const built = await buildLayer({ directory: root }, { outFile: join(work, 'busybox.tar.gz') });
    busyboxTar = gunzipSync(await readFile(built.path));
  }, 60_000);

  afterAll(async () => {
    await closeHttpPools();
    await reg?.stop();
    if (work) await removeDir(work);
  });

  test(
    'a passing verify: pushed under its tag, the digest of an unverified bake of the same inputs; temp dirs gone',
    async () => {
      const base = await pushBase(`base/pass${++seq}`, [busyboxTar]);
      const app = await appDir();
      const workDir = await fresh('work');
      const userLayout = join(await fresh('out'), 'oci');
      const logger = recordingLogger();
      const inputs = {
        client,
        base,
        layers: [{ directory: app, destination: '/app' }],
        config: { env: { GREETING: 'kiln' }, created: 'now' },
        log: logger,
      } satisfies Partial<AppendLayersOptions>;
      const r = await appendLayersVerified(
        { ...inputs, target: ref('bake/verified:1'), ociLayout: { dir: userLayout, tag: 'v1' }, workDir },
        { argv: ['/bin/sh', '-c', 'test -x /app/run && /app/run'] },
      );
      expect(r.verify).toMatchObject({ skipped: false, passed: true, exitCode: 0, timedOut: false });
      expect(r.verify.skipped === false && r.verify.outputTail).toEqual(['app ran as 0 in / with kiln']);
      expect(logger.lines).toContain('app ran as 0 in / with kiln');
      // Pushed under the tag, and written to the caller's layout without downloading the base again.
      expect(await head('bake/verified', 'manifests', '1')).toBe(r.digest);
      expect(r.target?.tags).toEqual([{ tag: '1', action: 'pushed' }]);
      expect(r.ociLayout).toMatchObject({ dir: userLayout, tag: 'v1', baseBytesDownloaded: 0 });
      const index = JSON.parse(await readFile(join(userLayout, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      expect(index.manifests.map((m) => m.digest)).toEqual([r.digest]);
      // Nothing left behind: appendLayers' work dirs, the temp layout and the root file system.
      expect(await readdir(workDir)).toEqual([]);

      // The same inputs, unverified (`created: now` is another time in another bake: given as the verified one's).
      const manifest = await blobJson<{ config: { digest: string } }>(userLayout, r.digest);
      const created = await blobJson<{ created: string }>(userLayout, manifest.config.digest);
      expect(Date.parse(created.created)).toBeGreaterThan(Date.parse(BASE_CREATED));
      const plain = await appendLayers({
        ...inputs,
        config: { ...inputs.config, created: created.created },
        target: ref('bake/plain:1'),
        log: new MemoryLogger(),
      });
      expect(plain.digest).toBe(r.digest);
    },
    SLOW,
  );

  test(
    'a failing verify (exit 3): VerifyFailedError with the code and the tail; no tag, manifest, blob or repository',
    async () => {
      const base = await pushBase(`base/fail${++seq}`, [busyboxTar]);
      const app = await appDir();
      const workDir = await fresh('work');
      const layers = [{ directory: app, destination: '/app' }];
      const err = await appendLayersVerified(
        { client, base, target: ref('bake/broken:1'), layers, workDir, log: recordingLogger() },
        {
          argv: [
            '/bin/sh',
            '-c',
            'echo checking /app; /app/run; echo "broken: no config in /etc/app" >&2; exit 3',
          ],
        },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyFailedError);
      const result = (err as VerifyFailedError).result;
      expect(result).toMatchObject({ passed: false, exitCode: 3, timedOut: false });
      expect(result.outputTail).toEqual([
        'checking /app',
        'app ran as 0 in / with no greeting',
        'broken: no config in /etc/app',
      ]);
      expect((err as Error).message).toBe(
        'verify exited with 3; nothing was pushed or written (last output: broken: no config in /etc/app)',
      );
      // The registry: no tag; the manifest and layer the bake would have pushed are absent; no repository at all.
      const { digest, dir } = await layoutOf(base, layers);
      expect(await head('bake/broken', 'manifests', '1')).toBeUndefined();
      expect(await head('bake/broken', 'manifests', digest)).toBeUndefined();
      const manifest = await blobJson<{ layers: { digest: string }[] }>(dir, digest);
      expect(await head('bake/broken', 'blobs', manifest.layers.at(-1)!.digest)).toBeUndefined();
      const tags = await fetch(`${reg.url}/v2/bake/broken/tags/list`);
      await tags.arrayBuffer();
      expect(tags.status).toBe(404);
      expect(await readdir(workDir)).toEqual([]);
    },
    SLOW,
  );

  test(
    'unpacking: whiteouts and opaque directories applied; modes, links and hard links kept; nothing written outside',
    async () => {
      const mark = randomBytes(6).toString('hex');
      const lower = tarOf([
        { name: 'etc/doomed', data: 'to be deleted\n' },
        { name: 'etc/kept', data: 'kept\n' },
        { name: 'opt/gone/', type: 'dir' },
        { name: 'opt/gone/old', data: 'hidden by the opaque whiteout\n' },
        { name: 'opt/gone/sub/deep', data: 'hidden too\n' },
        { name: 'opt/keep/a', data: 'a\n' },
        { name: 'was-file', data: 'a file below\n' },
        { name: 'was-dir/x', data: 'in a directory below\n' },
        { name: 'was-file-too', data: 'a file below\n' },
      ]);
      const base = await pushBase(`base/whiteout${++seq}`, [busyboxTar, lower]);
      const upperFile = join(await fresh('upper'), 'layer.tar');
      await writeFile(
        upperFile,
        tarOf([
          { name: 'etc/.wh.doomed' },
          { name: 'opt/gone/.wh..wh..opq' },
          { name: 'opt/gone/new', data: 'new\n' },
          // A directory over a directory keeps its content (new mode); over a file or the other way, replaces.
          { name: 'opt/keep/', type: 'dir', mode: 0o700 },
          { name: 'was-file/', type: 'dir' },
          { name: 'was-file/inner', data: 'inner\n' },
          { name: 'was-dir', data: 'a file now\n' },
          { name: 'was-file-too/', type: 'dir', mode: 0o710 },
          { name: 'app/', type: 'dir', mode: 0o750 },
          { name: 'app/run', data: '#!/bin/sh\necho run\n', mode: 0o4755 },
          { name: 'app/hard', type: 'hardlink', link: 'app/run' },
          { name: 'app/abs', type: 'symlink', link: '/etc/kept' },
          // Escapes: a '..' name, and writes through links to the host's / and above the root.
          { name: `../kiln-dotdot-${mark}`, data: 'escaped\n' },
          { name: 'up', type: 'symlink', link: '../../../..' },
          { name: `up/kiln-up-${mark}`, data: 'clamped at the root\n' },
          { name: 'host', type: 'symlink', link: '/' },
          { name: `host/tmp/kiln-host-${mark}`, data: 'inside the root\n' },
        ]),
      );
      const { dir } = await layoutOf(base, [{ tarball: upperFile }]);
      const rootParent = await fresh('unpack');
      const rootfs = join(rootParent, 'rootfs');
      const logger = recordingLogger();
      const unpacked = await unpackRootfs(dir, 'v1', rootfs, { log: logger });

      expect(unpacked).toMatchObject({
        platform: `linux/${arch}`,
        layers: 3,
        config: { env: ['PATH=/bin', 'LANG=C'] },
      });
      expect(existsSync(join(rootfs, 'etc/doomed'))).toBe(false);
      expect(await readFile(join(rootfs, 'etc/kept'), 'utf8')).toBe('kept\n');
      expect((await readdir(join(rootfs, 'opt/gone'))).sort()).toEqual(['new']);
      expect(await readFile(join(rootfs, 'opt/keep/a'), 'utf8')).toBe('a\n');
      expect((await stat(join(rootfs, 'opt/keep'))).mode & 0o7777).toBe(0o700);
      expect(await readFile(join(rootfs, 'was-file/inner'), 'utf8')).toBe('inner\n');
      expect(await readFile(join(rootfs, 'was-dir'), 'utf8')).toBe('a file now\n');
      expect((await stat(join(rootfs, 'was-file-too'))).mode & 0o7777).toBe(0o710);
      // Modes (setuid kept: root), owners, hard links, symlinks as written.
      const run = await stat(join(rootfs, 'app/run'));
      expect(run.mode & 0o7777).toBe(0o4755);
      expect([run.uid, run.gid]).toEqual([0, 0]);
      expect(run.mtimeMs).toBe(1_700_000_000_000);
      expect((await stat(join(rootfs, 'app'))).mode & 0o7777).toBe(0o750);
      expect((await stat(join(rootfs, 'app/hard'))).ino).toBe(run.ino);
      expect(await readlink(join(rootfs, 'app/abs'))).toBe('/etc/kept');
      expect((await lstat(join(rootfs, 'bin/sh'))).isSymbolicLink()).toBe(true);
      expect((await stat(join(rootfs, 'bin/busybox'))).mode & 0o777).toBe(0o755);
      // Nothing outside: the '..' entry skipped (and said), writes through links landed inside the root.
      expect(existsSync(join(rootParent, `kiln-dotdot-${mark}`))).toBe(false);
      expect(existsSync(join(work, `kiln-dotdot-${mark}`))).toBe(false);
      expect(unpacked.skipped).toEqual([`../kiln-dotdot-${mark}: its name has a '..' component`]);
      expect(logger.lines.some((l) => l.startsWith('warning:') && l.includes(`kiln-dotdot-${mark}`))).toBe(
        true,
      );
      expect(await readFile(join(rootfs, `kiln-up-${mark}`), 'utf8')).toBe('clamped at the root\n');
      expect(existsSync(`/kiln-up-${mark}`)).toBe(false);
      expect(await readFile(join(rootfs, `tmp/kiln-host-${mark}`), 'utf8')).toBe('inside the root\n');
      expect(existsSync(`/tmp/kiln-host-${mark}`)).toBe(false);

      // The same, seen from inside under chroot.
      const v = await verifyLayoutImage(
        dir,
        'v1',
        {
          argv: [
            '/bin/sh',
            '-c',
            'test ! -e /etc/doomed && test ! -e /opt/gone/old && test -f /opt/gone/new && cat /app/abs && /app/hard',
          ],
        },
        { log: recordingLogger(), workDir: await fresh('work') },
      );
      expect(v).toMatchObject({ skipped: false, passed: true, outputTail: ['kept', 'run'] });
    },
    SLOW,
  );

  test(
    "the command's user, groups, working directory and environment",
    async () => {
      const base = await pushBase(`base/user${++seq}`, [busyboxTar]);
      const { dir } = await layoutOf(base, [
        {
          tarball: await (async () => {
            const f = join(await fresh('etc'), 'etc.tar');
            await writeFile(
              f,
              tarOf([
                {
                  name: 'etc/passwd',
                  data: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
                },
                { name: 'etc/group', data: 'root:x:0:\napp:x:1000:\nstaff:x:2000:app,other\n' },
              ]),
            );
            return f;
          })(),
        },
      ]);
      const rootfs = join(await fresh('unpack'), 'rootfs');
      await unpackRootfs(dir, 'v1', rootfs, { log: recordingLogger() });
      const show = ['/bin/sh', '-c', 'echo "$(id -u):$(id -g) [$(id -G)] $(pwd) $HOME $GREETING $PATH"'];

      // chroot(8): the user by name, its supplementary group; Docker's PATH when the Env has none.
      const asApp = await verifyInRootfs(rootfs, {
        argv: show,
        user: 'app',
        env: ['GREETING=hi'],
        log: recordingLogger(),
      });
      expect(asApp).toMatchObject({
        skipped: false,
        passed: true,
        outputTail: [
          '1000:1000 [1000 2000] / /home/app hi /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        ],
      });
      // unshare --root --wd: a working directory (made when missing), a uid:group; nothing of Kiln's environment.
      const inDir = await verifyInRootfs(rootfs, {
        argv: [...show.slice(0, 2), `${show[2]!}; echo "[$KILN_LEAK]"`],
        user: '1234:staff',
        workdir: '/srv/data',
        env: ['PATH=/bin', 'GREETING=there'],
        log: recordingLogger(),
      });
      expect(inDir).toMatchObject({
        skipped: false,
        passed: true,
        outputTail: ['1234:2000 [2000] /srv/data / there /bin', '[]'],
      });
      expect((await stat(join(rootfs, 'srv/data'))).isDirectory()).toBe(true);
      // A user the image does not have.
      await expect(
        verifyInRootfs(rootfs, { argv: show, user: 'nobody-here', log: recordingLogger() }),
      ).rejects.toThrow("verify: user 'nobody-here' is not in the image's /etc/passwd");
    },
    SLOW,
  );

  test(
    'a deadline: the whole process group is stopped (also a shell ignoring SIGTERM), the result says timed out',
    async () => {
      const base = await pushBase(`base/slow${++seq}`, [busyboxTar]);
      const { dir } = await layoutOf(base, []);
      for (const script of [
        'echo started; sleep 30; echo never',
        'trap "" TERM; echo started; sleep 30; echo never',
      ]) {
        const workDir = await fresh('work');
        const started = Date.now();
        const v = await verifyLayoutImage(
          dir,
          'v1',
          { argv: ['/bin/sh', '-c', script], timeoutMs: 1000 },
          { log: recordingLogger(), workDir },
        );
        expect(Date.now() - started).toBeLessThanOrEqual(20_000);
        expect(v).toMatchObject({
          skipped: false,
          passed: false,
          exitCode: null,
          timedOut: true,
          outputTail: ['started'],
        });
        expect(await verifyProcesses()).toEqual([]);
        expect(await readdir(workDir)).toEqual([]);
      }
      // Through appendLayersVerified: VerifyFailedError, nothing pushed.
      const err = await appendLayersVerified(
        {
          client,
          base,
          target: ref('bake/slow:1'),
          layers: [],
          workDir: await fresh('work'),
          log: recordingLogger(),
        },
        { argv: ['/bin/sh', '-c', 'sleep 30'], timeoutMs: 1000 },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VerifyFailedError);
      expect((err as VerifyFailedError).result.timedOut).toBe(true);
      expect((err as Error).message).toBe(
        'verify did not finish in time and was stopped; nothing was pushed or written',
      );
      expect(await head('bake/slow', 'manifests', '1')).toBeUndefined();
    },
    SLOW,
  );

  test(
    'cancelled while the command runs: CancelledError, the processes stopped, the temp dir removed',
    async () => {
      const base = await pushBase(`base/cancel${++seq}`, [busyboxTar]);
      const { dir } = await layoutOf(base, []);
      const controller = new AbortController();
      const workDir = await fresh('work');
      const started = Date.now();
      const err = await verifyLayoutImage(
        dir,
        'v1',
        { argv: ['/bin/sh', '-c', 'echo started; sleep 30'] },
        {
          log: recordingLogger((l) => (l === 'started' ? controller.abort() : undefined)),
          signal: controller.signal,
          workDir,
        },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CancelledError);
      expect(Date.now() - started).toBeLessThanOrEqual(20_000);
      expect(await verifyProcesses()).toEqual([]);
      expect(await readdir(workDir)).toEqual([]);
    },
    SLOW,
  );

  test(
    'not root: verify is skipped with the reason, nothing unpacked; appendLayersVerified bakes unverified',
    async () => {
      const base = await pushBase(`base/user${++seq}`, [busyboxTar]);
      const { dir } = await layoutOf(base, []);
      const getuid = jest.spyOn(process, 'getuid').mockReturnValue(1000);
      try {
        const workDir = await fresh('work');
        const logger = recordingLogger();
        expect(await verifyLayoutImage(dir, 'v1', { argv: ['/bin/true'] }, { log: logger, workDir })).toEqual(
          {
            skipped: true,
            reason: VERIFY_NEEDS_ROOT,
          },
        );
        expect(VERIFY_NEEDS_ROOT).toBe('verify needs root for chroot (or use builder: buildah)');
        expect(logger.lines).toContain(`warning: verify skipped: ${VERIFY_NEEDS_ROOT}`);
        expect(await readdir(workDir)).toEqual([]);
        expect(await verifyInRootfs(workDir, { argv: ['/bin/true'], log: logger })).toEqual({
          skipped: true,
          reason: VERIFY_NEEDS_ROOT,
        });
        const r = await appendLayersVerified(
          { client, base, target: ref('bake/unverified:1'), layers: [], workDir, log: logger },
          { argv: ['/bin/false'] },
        );
        expect(r.verify).toEqual({ skipped: true, reason: VERIFY_NEEDS_ROOT });
        expect(await head('bake/unverified', 'manifests', '1')).toBe(r.digest);
      } finally {
        getuid.mockRestore();
      }
    },
    SLOW,
  );
});
