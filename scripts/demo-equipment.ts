/**
 * The local equipment `npm run demo` drives the real `kiln` CLI against, all on 127.0.0.1 and started in-process:
 *
 * - a real OCI registry (Debian's `docker-registry`, test/sim/registry) holding the base image, the app's releases
 *   and the release ledger (the default `ledger: registry`: OCI artifacts in the app's own repository);
 * - three Marathons (the simulator of test/sim/marathon): QA, and production in two datacenters AA and BB;
 * - a Kubernetes API server (the simulator of test/sim/kube) as QA's second platform;
 * - the app's health endpoint on each of those four, answering for the version the platform runs (and, like a
 *   fresh deploy, `503 STARTING` for a moment after a new version takes over);
 * - a pipeline's working directory: the app's build output and per-environment config, the base image as an OCI
 *   layout, the Marathon app definitions, the Kubernetes manifest and the smoke-test checks files.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startKubeSim, type KubeSim } from '../test/sim/kube/server.js';
import { startMarathonSim, type MarathonSim } from '../test/sim/marathon/server.js';
import { tarFiles, writeImageLayout } from '../test/sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../test/sim/registry/registry.js';

export { registryAvailable };

/** Simulated seconds per real second: a Marathon rollout of a minute takes about half a second. */
export const MARATHON_TIME_SCALE = 100;
export const KUBE_TIME_SCALE = 20;
/** How long the app answers 503 after a new version took over (its caches warming up). */
export const WARMUP_MS = 1000;
/** The Marathon app id; the Kubernetes Deployment is `app` in `default`. */
export const APP_ID = '/shop/app';
const DEPLOYMENT = 'app';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The app's health endpoint on one platform. */
export interface AppEndpoint {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /health_check` for the image `running()` says runs (every instance on it and healthy): `200
 * {"status":"UP","version":…}`, or `503 {"status":"STARTING"}` for {@link WARMUP_MS} after it changed (and while
 * nothing runs).
 */
async function appEndpoint(
  running: () => string | undefined,
  versionOf: (image: string) => string,
): Promise<AppEndpoint> {
  let image: string | undefined;
  let since = 0;
  const observe = () => {
    const now = running();
    if (now !== image) {
      image = now;
      since = Date.now();
    }
  };
  const watch = setInterval(observe, 20);
  watch.unref();
  const server: Server = createServer((req, res) => {
    observe();
    if ((req.url ?? '/').split('?')[0] !== '/health_check') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"NOT_FOUND"}');
      return;
    }
    const up = image !== undefined && Date.now() - since >= WARMUP_MS;
    res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(up ? { status: 'UP', version: versionOf(image as string) } : { status: 'STARTING' }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        clearInterval(watch);
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** The image every task of the Marathon app runs, healthy, when they all run one. */
export function marathonRunning(sim: MarathonSim): string | undefined {
  const app = sim.app(APP_ID);
  if (!app) return undefined;
  const instances = Number(app.definition['instances'] ?? 1);
  const tasks = app.tasks.filter((t) => t.state === 'TASK_RUNNING' && t.alive !== false);
  const images = new Set(tasks.map((t) => t.image));
  return tasks.length >= instances && images.size === 1 ? tasks[0]?.image : undefined;
}

/** The image of the Deployment once its rollout is complete (every replica updated and available). */
export function kubeRunning(sim: KubeSim): string | undefined {
  const d = sim.get('apps/v1', 'Deployment', 'default', DEPLOYMENT) as
    | {
        spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
        status?: { updatedReplicas?: number; availableReplicas?: number; replicas?: number };
      }
    | undefined;
  if (!d) return undefined;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if (s.updatedReplicas !== want || s.availableReplicas !== want || s.replicas !== want) return undefined;
  return d.spec?.template?.spec?.containers?.[0]?.image;
}

/** True for a statically linked ELF64 executable (no PT_INTERP program header): one that runs alone in a chroot. */
export function isStaticExecutable(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) if (table.readUInt32LE(i * phentsize) === 3) return false;
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The platform team's runtime base image as an OCI layout (what `kiln push-registry` publishes), tag `1`: a static
 * busybox with the applets the app's launcher uses when this machine has one (so bake-image's verify can run the
 * app in a chroot), else one marker file. Returns whether it has a shell.
 */
async function writeBaseLayout(dir: string, work: string): Promise<{ withShell: boolean }> {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p) && isStaticExecutable(p));
  let layer: Buffer;
  if (busybox) {
    const rootfs = join(work, 'base-rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of ['sh', 'cat', 'echo', 'test', 'true', 'false'])
      symlinkSync('busybox', join(rootfs, 'bin', applet));
    writeFileSync(join(rootfs, 'etc', 'runtime-release'), 'demo runtime 1\n');
    const tgz = join(work, 'base.tar.gz');
    execFileSync('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--mtime=@0',
      '-czf',
      tgz,
      '-C',
      rootfs,
      '.',
    ]);
    layer = readFileSync(tgz);
    rmSync(rootfs, { recursive: true, force: true });
    rmSync(tgz, { force: true });
  } else {
    layer = gzipSync(tarFiles({ 'etc/runtime-release': 'demo runtime 1\n' }));
  }
  const digest = sha256(layer);
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), layer);
  await writeImageLayout(dir, {
    tag: '1',
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest,
        size: layer.length,
        diffId: sha256(gunzipSync(layer)),
      },
    ],
    labels: { 'org.opencontainers.image.title': 'demo runtime' },
  });
  return { withShell: busybox !== undefined };
}

function write(path: string, text: string, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, mode === undefined ? {} : { mode });
}

/**
 * The build output of one version of the app in `build/` (what `gradle build` would leave) and its config in
 * `config/`: `application-qa.yaml` and `application-prod.yaml`, the users' per-environment files. With
 * `forgetProdSetting`, the prod file lacks the setting this version reads at start: it works in QA and crashes in
 * production.
 */
export function writeAppVersion(
  workspace: string,
  version: string,
  o: { forgetProdSetting?: boolean } = {},
): void {
  const app = join(workspace, 'app');
  rmSync(app, { recursive: true, force: true });
  write(join(app, 'build', 'VERSION'), `${version}\n`);
  write(
    join(app, 'build', 'lib', 'shop-app.jar'),
    `PK (stand-in for the real jar) shop-app ${version}\n${createHash('sha256').update(version).digest('hex')}\n`,
  );
  write(
    join(app, 'build', 'bin', 'start'),
    [
      '#!/bin/sh',
      '# The launcher. `start --check` is the offline self-test bake-image runs inside the new image.',
      'set -e',
      'test -f /app/lib/shop-app.jar',
      'for env in qa prod; do test -f /app/config/application-$env.yaml; done',
      'if [ "$1" = --check ]; then echo "shop-app $(cat /app/VERSION): self-test passed"; exit 0; fi',
      'exec java -jar /app/lib/shop-app.jar',
      '',
    ].join('\n'),
    0o755,
  );
  const config = (env: string, withPayments: boolean) =>
    [
      `# shop-app ${version}, ${env}`,
      'server:',
      '  port: 12345',
      'datasource:',
      `  url: jdbc:postgresql://db.${env}.example.com/shop`,
      ...(withPayments ? ['payments:', `  url: https://payments.${env}.example.com`] : []),
      '',
    ].join('\n');
  write(join(app, 'config', 'application-qa.yaml'), config('qa', true));
  write(join(app, 'config', 'application-prod.yaml'), config('prod', !o.forgetProdSetting));
}

/** The users' Marathon app definition for an environment (a lower-case id, as Marathon requires). */
function marathonApp(env: 'qa' | 'prod'): string {
  return JSON.stringify(
    {
      id: APP_ID,
      cpus: 2,
      mem: 2048.0,
      instances: env === 'prod' ? 3 : 2,
      args: ['--spring.profiles.active=${ENV}'],
      labels: {
        HAPROXY_GROUP: 'external',
        HAPROXY_0_VHOST: `shop${env === 'prod' ? '' : `-${env}`}.example.com`,
      },
      container: {
        type: 'DOCKER',
        docker: {
          image: 'registry.example.com/shop/app',
          network: 'USER',
          forcePullImage: true,
          portMappings: [{ containerPort: 12345, hostPort: 0, protocol: 'tcp', servicePort: 12345 }],
        },
        volumes: [{ containerPath: '/app/log', hostPath: '/home/logs/shop-app', mode: 'RW' }],
      },
      ipAddress: { networkName: 'calico-net' },
      healthChecks: [
        {
          gracePeriodSeconds: 300,
          intervalSeconds: 20,
          maxConsecutiveFailures: 3,
          path: '/health_check',
          portIndex: 0,
          protocol: 'HTTP',
          timeoutSeconds: 20,
        },
      ],
    },
    null,
    2,
  );
}

function kubeManifest(repository: string): string {
  return `# QA on Kubernetes: the same image as QA on Marathon, pinned by digest by deploy-k8s.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${DEPLOYMENT}
  labels: { app: shop-app }
spec:
  replicas: 2
  selector:
    matchLabels: { app: shop-app }
  template:
    metadata:
      labels: { app: shop-app }
    spec:
      containers:
        - name: app
          image: ${repository}
          args: ['--spring.profiles.active=\${ENV}']
          ports: [{ containerPort: 12345 }]
          readinessProbe:
            httpGet: { path: /health_check, port: 12345 }
            periodSeconds: 5
`;
}

/** A smoke-test checks file: the app healthy and on the expected version on every platform named. */
function checksFile(what: string, targets: Array<{ name: string; variable: string }>): string {
  return [
    `# ${what}`,
    '# ${VERSION} and the base URLs come from --vars.',
    'defaults:',
    '  timeout: 2s',
    '  retries: 20 # a fresh deploy warms up: retried on an error or a failed assertion',
    '  retryInterval: 250ms',
    'checks:',
    ...targets.flatMap((t) => [
      `  - name: ${t.name}`,
      `    url: \${${t.variable}}/health_check`,
      '    expect:',
      '      status: 200',
      "      jsonpath: { $.status: UP, $.version: '${VERSION}' }",
      '      duration: { lt: 1s }',
    ]),
    '',
  ].join('\n');
}

export interface Equipment {
  /** The pipeline's working directory: every kiln command runs here. */
  workspace: string;
  /** The job's temp dir (TMPDIR of every kiln command), outside the workspace. */
  tmp: string;
  registry: RunningRegistry;
  /** `127.0.0.1:PORT/shop/app`: the app's repository, which also holds the ledger. */
  repository: string;
  /** `127.0.0.1:PORT/platform/runtime`. */
  baseRepository: string;
  /** The base layout has a static busybox: bake-image's verify can run the app's self-test. */
  baseHasShell: boolean;
  marathon: { qa: MarathonSim; aa: MarathonSim; bb: MarathonSim };
  kube: KubeSim;
  kubeconfig: string;
  /** The app's health endpoints (base URLs). */
  endpoints: { marathonQa: string; kubeQa: string; aa: string; bb: string };
  /** Digest → version, what the health endpoints answer with; the demo adds each release it bakes. */
  versions: Map<string, string>;
  close(): Promise<void>;
}

/** Starts everything (the registry first: it is the one part that needs a system package). */
export async function startEquipment(): Promise<Equipment> {
  const workspace = mkdtempSync(join(tmpdir(), 'kiln-demo-'));
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-demo-tmp-'));
  const closers: Array<() => Promise<void> | void> = [
    () => rmSync(workspace, { recursive: true, force: true }),
    () => rmSync(tmp, { recursive: true, force: true }),
  ];
  // Each part is stopped even when another fails to (the temp dirs last); the first error is reported.
  const close = async () => {
    let first: unknown;
    for (const c of closers.reverse()) {
      try {
        await c();
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
  };
  try {
    const registry = await startRegistry({ logLevel: 'error' });
    closers.push(() => registry.stop());
    const repository = `${registry.host}/shop/app`;
    const { withShell } = await writeBaseLayout(join(workspace, 'base', 'oci'), workspace);

    const marathon = {
      qa: await startMarathonSim({ timeScale: MARATHON_TIME_SCALE }),
      aa: await startMarathonSim({ timeScale: MARATHON_TIME_SCALE }),
      bb: await startMarathonSim({ timeScale: MARATHON_TIME_SCALE }),
    };
    for (const sim of Object.values(marathon)) closers.push(() => sim.close());
    const kube = await startKubeSim({ timeScale: KUBE_TIME_SCALE });
    closers.push(() => kube.close());
    const kubeconfig = kube.writeKubeconfig({ path: join(workspace, 'kubeconfig-qa.yaml') });

    const versions = new Map<string, string>();
    const versionOf = (image: string) => versions.get(image.slice(image.indexOf('@') + 1)) ?? 'unknown';
    const endpoint = async (running: () => string | undefined) => {
      const e = await appEndpoint(running, versionOf);
      closers.push(() => e.close());
      return e.url;
    };
    const endpoints = {
      marathonQa: await endpoint(() => marathonRunning(marathon.qa)),
      kubeQa: await endpoint(() => kubeRunning(kube)),
      aa: await endpoint(() => marathonRunning(marathon.aa)),
      bb: await endpoint(() => marathonRunning(marathon.bb)),
    };

    write(join(workspace, 'deploy', 'qa-deploy.json'), marathonApp('qa'));
    write(join(workspace, 'deploy', 'prod-deploy.json'), marathonApp('prod'));
    write(join(workspace, 'deploy', 'k8s', 'app.yaml'), kubeManifest(repository));
    write(
      join(workspace, 'smoke', 'qa.yml'),
      checksFile('QA: the new version answers, healthy, on Marathon and on Kubernetes.', [
        { name: 'marathon qa', variable: 'MARATHON_QA_APP' },
        { name: 'kubernetes qa', variable: 'KUBERNETES_QA_APP' },
      ]),
    );
    write(
      join(workspace, 'smoke', 'prod.yml'),
      checksFile('Production: the new version answers, healthy, in both datacenters.', [
        { name: 'datacenter AA', variable: 'AA_APP' },
        { name: 'datacenter BB', variable: 'BB_APP' },
      ]),
    );

    return {
      workspace,
      tmp,
      registry,
      repository,
      baseRepository: `${registry.host}/platform/runtime`,
      baseHasShell: withShell,
      marathon,
      kube,
      kubeconfig,
      endpoints,
      versions,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
