/**
 * Pieces of bench/bake.ts: the base image (Debian's static busybox plus a "runtime" layer of incompressible
 * data, like a JRE) written as an OCI layout and pushed to a registry; the application directory (code, vendored
 * jars, config) and its code-only change; buildah in a private storage (vfs, chroot isolation, as root); and a
 * Kiln registry client isolated from this machine's docker config, for `appendLayers`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { buildLayer } from '../../packages/core/src/bake/layer.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { RegistryClient } from '../../packages/core/src/registry/index.js';
import { removeDir } from '../../test/sim/registry/util.js';
import { run } from './harness.js';
import { OCI_MANIFEST } from './image.js';

const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const BASE_CREATED = '2024-01-02T03:04:05Z';

/** busybox applets linked in the base (what the end-of-bench check runs). */
const APPLETS = [
  'sh',
  'cat',
  'echo',
  'ls',
  'id',
  'env',
  'find',
  'sort',
  'xargs',
  'sha256sum',
  'wc',
  'test',
  'grep',
];

/** The OCI architecture of this machine (the base is single-platform, for the host, so buildah can use it). */
export function hostArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le' };
  return map[process.arch] ?? process.arch;
}

/** Sum of the sizes of the regular files under `dir`. */
export async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    bytes += (await stat(join(e.parentPath, e.name))).size;
    files++;
  }
  return { bytes, files };
}

export interface BaseImage {
  /** `oci:<dir>:1`. */
  layoutRef: string;
  manifestDigest: string;
  /** Blob sizes: busybox layer, runtime layer. */
  layerSizes: number[];
  /** Config + layers. */
  blobBytes: number;
  runtimeBytes: number;
}

/**
 * Writes the base image as an OCI layout in `dir` (tag `1`): layer 1 `/bin/busybox` and its applets as links,
 * layer 2 `/opt/runtime` of `runtimeBytes` random bytes in 5 MiB "libraries" plus a launcher; a config with PATH
 * and a `/bin/sh` cmd. Layers are written by Kiln's deterministic tar writer (gzip level 1: the data is
 * incompressible, and the set-up is faster).
 */
export async function writeBaseImage(dir: string, work: string, runtimeBytes: number): Promise<BaseImage> {
  if (!existsSync('/bin/busybox')) {
    throw new Error('bench/bake needs a static busybox at /bin/busybox (apt-get install busybox-static)');
  }
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });

  const bb = join(work, 'base-busybox');
  await mkdir(join(bb, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(bb, 'bin', 'busybox'));
  await chmod(join(bb, 'bin', 'busybox'), 0o755);
  for (const a of APPLETS) await symlink('busybox', join(bb, 'bin', a));
  await mkdir(join(bb, 'tmp'));
  await chmod(join(bb, 'tmp'), 0o1777);

  const rt = join(work, 'base-runtime');
  const lib = join(rt, 'opt', 'runtime', 'lib');
  await mkdir(lib, { recursive: true });
  await mkdir(join(rt, 'opt', 'runtime', 'bin'));
  const chunk = 5 * 1024 * 1024;
  for (let left = runtimeBytes, i = 0; left > 0; left -= chunk, i++) {
    await writeFile(
      join(lib, `libruntime-${String(i).padStart(2, '0')}.so`),
      randomBytes(Math.min(chunk, left)),
    );
  }
  await writeFile(join(rt, 'opt', 'runtime', 'bin', 'runtime'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  await writeFile(join(rt, 'opt', 'runtime', 'release'), 'RUNTIME_VERSION="21.0.4"\n');

  const layers = [];
  for (const [i, src] of [bb, rt].entries()) {
    const tmp = join(blobDir, `.tmp-${i}`);
    const l = await buildLayer({ directory: src }, { outFile: tmp, gzipLevel: 1 });
    await rename(tmp, join(blobDir, l.digest.slice('sha256:'.length)));
    layers.push(l);
    await removeDir(src);
  }

  const blob = async (mediaType: string, value: unknown) => {
    const bytes = Buffer.from(JSON.stringify(value));
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(join(blobDir, digest.slice('sha256:'.length)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const config = await blob(OCI_CONFIG, {
    architecture: hostArch(),
    os: 'linux',
    created: BASE_CREATED,
    config: {
      Env: ['PATH=/opt/runtime/bin:/bin', 'RUNTIME_HOME=/opt/runtime'],
      Cmd: ['/bin/sh'],
      Labels: { 'org.opencontainers.image.title': 'kiln-bench-base' },
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [
      { created: BASE_CREATED, created_by: 'busybox-static and its applets' },
      { created: BASE_CREATED, created_by: `runtime: ${runtimeBytes} bytes of libraries` },
    ],
  });
  const manifest = await blob(OCI_MANIFEST, {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.size })),
  });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
    }),
  );
  return {
    layoutRef: `oci:${dir}:1`,
    manifestDigest: manifest.digest,
    layerSizes: layers.map((l) => l.size),
    blobBytes: config.size + layers.reduce((n, l) => n + l.size, 0),
    runtimeBytes,
  };
}

/** Pseudo-code: `lines` lines of functions with random constants (compresses like real source, ~3:1). */
function sourceFile(name: string, lines: number): string {
  const out = [`// ${name}: generated for bench/bake`, `import { log } from './log.js';`, ''];
  for (let i = 0; i < lines; i++) {
    const k = randomBytes(6).toString('hex');
    out.push(
      `export function ${name.replace(/\W/g, '_')}_${i}(input) { if (input === '${k}') log('hit ${k}'); return input * ${i + 1} + ${k.length}; }`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** The one file the code-only change rewrites. */
export const CHANGED_FILE = 'src/main.js';

/** The content of {@link CHANGED_FILE} for build `build`. */
export const mainJs = (build: string): string =>
  `// the entry point\nimport { start } from './server.js';\nexport const BUILD = '${build}';\nstart({ build: BUILD });\n`;

/**
 * Writes the application into `dir` (~3 MB, like a small service): `src/` (~240 generated modules, ~1 MB of
 * text), `lib/` (two vendored jars, 1 MiB of incompressible bytes each), `config/`, `bin/start`, and
 * {@link CHANGED_FILE}.
 */
export async function writeAppDir(dir: string): Promise<{ bytes: number; files: number }> {
  await mkdir(join(dir, 'src', 'modules'), { recursive: true });
  await mkdir(join(dir, 'lib'));
  await mkdir(join(dir, 'config'));
  await mkdir(join(dir, 'bin'));
  for (let i = 0; i < 240; i++) {
    const name = `module${String(i).padStart(3, '0')}`;
    await writeFile(join(dir, 'src', 'modules', `${name}.js`), sourceFile(name, 30));
  }
  await writeFile(join(dir, 'src', 'server.js'), sourceFile('server', 60));
  await writeFile(join(dir, 'src', 'log.js'), 'export const log = (m) => console.log(m);\n');
  await writeFile(join(dir, CHANGED_FILE), mainJs('initial'));
  for (const jar of ['vendor-http-4.2.1.jar', 'vendor-json-2.17.0.jar'])
    await writeFile(join(dir, 'lib', jar), randomBytes(1024 * 1024));
  await writeFile(join(dir, 'config', 'app.yaml'), 'server:\n  port: 8080\nlog:\n  level: info\n');
  await writeFile(join(dir, 'config', 'features.json'), JSON.stringify({ beta: false, cache: 300 }, null, 2));
  await writeFile(join(dir, 'bin', 'start'), '#!/bin/sh\nexec runtime /app/src/main.js "$@"\n', {
    mode: 0o755,
  });
  return dirBytes(dir);
}

// ---------------------------------------------------------------------------------------------------------
// buildah

/** A private buildah storage (`--root`, `--runroot`, vfs) in its own directory. */
export interface BuildahStorage {
  dir: string;
  global: string[];
}

export interface Buildah {
  /** A fresh, empty storage under the sandbox. */
  storage(name: string): Promise<BuildahStorage>;
  drop(s: BuildahStorage): Promise<void>;
  /** Runs `buildah <storage flags> <args>`; rejects on a non-zero exit. */
  run(s: BuildahStorage, args: string[]): Promise<{ stdout: string; ms: number }>;
  version: string;
}

/**
 * buildah isolated from this machine's configuration: its own HOME, TMPDIR, runtime dir and an empty auth file
 * (the system's policy.json and registries.conf still apply; references here are fully qualified and pulled with
 * `--tls-verify=false`). Storages use vfs; RUN steps (none here) would use chroot isolation.
 */
export async function createBuildah(dir: string): Promise<Buildah> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await mkdir(join(dir, '.config'), { recursive: true });
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, JSON.stringify({ auths: {} }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    TMPDIR: join(dir, 'tmp'),
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    REGISTRY_AUTH_FILE: authFile,
  };
  const version = (await run('buildah', ['--version'], { env })).stdout.trim();
  return {
    version,
    storage: async (name) => {
      const s = join(dir, name);
      await mkdir(s);
      return {
        dir: s,
        global: ['--root', join(s, 'root'), '--runroot', join(s, 'runroot'), '--storage-driver', 'vfs'],
      };
    },
    drop: async (s) => {
      // Nothing is mounted with vfs and no working container is left (bud removes its own), so a plain remove.
      await removeDir(s.dir);
    },
    run: async (s, args) => {
      const r = await run('buildah', [...s.global, ...args], { env, timeoutMs: 20 * 60_000 });
      return { stdout: r.stdout, ms: r.ms };
    },
  };
}

/** The Containerfile of the full rebuild: the same image the layer-append run makes (see bench/bake.ts). */
export const containerfile = (base: string): string =>
  [`FROM ${base}`, 'COPY app /app', 'WORKDIR /app', 'CMD ["/app/bin/start"]', ''].join('\n');

// ---------------------------------------------------------------------------------------------------------
// Kiln

/** A RegistryClient isolated from this machine's docker config and CI variables (a fresh one per run). */
export async function isolatedClientFactory(home: string): Promise<() => RegistryClient> {
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'config.json'), JSON.stringify({ auths: {} }));
  return () =>
    new RegistryClient({
      logger: new MemoryLogger(false),
      env: { PATH: process.env.PATH, HOME: home },
      dockerConfigDir: home,
    });
}

/** `/proc/loadavg` as it reads (1, 5, 15-minute load, running/total tasks, last pid), or `n/a`. */
export async function procLoadavg(): Promise<string> {
  try {
    return (await readFile('/proc/loadavg', 'utf8')).trim();
  } catch {
    return 'n/a';
  }
}

/**
 * How busy the CPUs are right now: the share of non-idle time over `ms` from `/proc/stat` (all CPUs), 0..1, or
 * undefined where there is no /proc. Unlike the load average (a decaying mean over minutes), it says what runs now.
 */
export async function cpuBusy(ms = 1000): Promise<number | undefined> {
  const sample = async () => {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  try {
    const a = await sample();
    await new Promise((r) => setTimeout(r, ms));
    const b = await sample();
    const total = b.total - a.total;
    return total > 0 ? 1 - (b.idle - a.idle) / total : undefined;
  } catch {
    return undefined;
  }
}
