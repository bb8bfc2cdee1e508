/**
 * `npx tsx bench/bake.ts` (npm run bench:bake): a code-only change to an application image, rebuilt two ways and
 * measured side by side in one run against a real registry (CNCF distribution, `docker-registry`, on 127.0.0.1).
 * Every request goes through a counting proxy (bench/lib/proxy.ts): one adds nothing ("0 ms"), one adds
 * BENCH_LATENCY_MS (default 50) to every request like a remote registry's round trip. Neither limits bandwidth:
 * loopback moves bytes at disk speed, which favours the run that moves more bytes (the full rebuild).
 *
 * Set-up (not timed): the base image `base:1` — Debian's static busybox and its applets, plus a "runtime" layer
 * of BENCH_BASE_MB (default 80) MB of incompressible data in 5 MiB "libraries", like a JRE — written as an OCI
 * layout with Kiln's tar writer and pushed with skopeo; an application directory of ~3 MB (240 generated source
 * modules, two 1 MiB vendored jars, config, a start script) next to the Containerfile. Each way first pushes one
 * version of the app untimed, so every measured run is a code-only change to an app whose repository already
 * holds the previous version; one file (`src/main.js`) is rewritten before every run.
 *
 *   (a) full rebuild and push, what users do today: a Containerfile `FROM <proxy>/base:1`, `COPY app /app`,
 *       `WORKDIR /app`, `CMD ["/app/bin/start"]`; `buildah bud --isolation chroot --tls-verify=false` (vfs, a
 *       private storage, as root), then `buildah push --tls-verify=false … docker://<proxy>/app-bud:<n>`. Timed
 *       from the start of `bud` to the end of `push` (two buildah processes, their start-up included), in two
 *       variants:
 *         cold         a fresh, empty storage, so `bud` pulls the base through the proxy. CI runners usually
 *                      start without the base cached: this is the fair comparison.
 *         base cached  the same storage again, right after the cold run, for the next code-only change: the base
 *                      is in storage (`bud`'s default pull policy only checks its manifest).
 *   (b) layer-append: `appendLayers` (packages/core/src/bake/layer-append.ts) in-process, a fresh RegistryClient
 *       and connection pool per run: base `<proxy>/base:1`, the app dir as one new layer at /app, the same
 *       WorkingDir and Cmd, target `<proxy>/app:<n>`. No Kiln CLI action runs layer-append yet, so Node's start-up
 *       is not in (b); the "+CLI start" figures add the bundled CLI's measured cold start as an estimate.
 *
 * Interleaved: per round and latency, a-cold, b, a-cached, b (every other round b first, and the other latency
 * first), BENCH_RUNS rounds (default 3), so machine load falls on both alike. Medians of wall time; blob bytes
 * uploaded and downloaded, requests and sequential round trips as the proxy counted them. Digests at the target
 * are checked after every run. At the end (untimed) one more change is built both ways and both images are run
 * with buildah: the same /app tree (a sha256 over every file) holding the new main.js, the same WorkingDir, Cmd
 * and Env. `/proc/loadavg` and the CPUs' busy share over one second are printed at the start and the end.
 *
 * Aims (issue #11): layer-append ≥ 10× faster than a full rebuild and push, and it uploads only the new layer
 * (plus the image config, which any new image needs).
 *
 * Measured here (BENCH_RUNS=5; 2 cores, 24 GB RAM, buildah 1.28.2 with vfs, Node 24 for the CLI start; base blobs
 * 77.4 MiB, app 248 files / 2.8 MiB, new layer 2.1 MiB). The machine was idle when it started (CPUs 0 % busy over
 * one second; `/proc/loadavg` 1.82 1.59 1.97, what other engineers' runs left), at the end 1.66 1.56 1.93 with the
 * CPUs 51 % busy (someone else's work had started). Medians:
 *
 *   way                               latency  wall    uploaded  downloaded  requests
 *   (a) rebuild + push, cold storage  0 ms     2.43 s  2.1 MiB   77.4 MiB    21
 *   (a) rebuild + push, cold storage  50 ms    3.01 s  2.1 MiB   77.4 MiB    21 (15 round trips)
 *   (a) rebuild + push, base cached   0 ms     1.81 s  2.1 MiB   0 B         16
 *   (a) rebuild + push, base cached   50 ms    1.64 s  2.1 MiB   0 B         16 (12 round trips)
 *   (b) layer-append                  0 ms     164 ms  2.1 MiB   594 B       12
 *   (b) layer-append                  50 ms    415 ms  2.1 MiB   594 B       12 (6 round trips)
 *
 * a/b wall time: cold 14.9× at 0 ms, 7.25× at 50 ms; base cached 11.1× at 0 ms, 3.96× at 50 ms (with the CLI's
 * 31 ms cold start added to (b): 12.5×, 6.74×, 9.30×, 3.68×). Bytes uploaded a/b: 1.00× everywhere — buildah,
 * having pulled the base in the same job, finds the base's blobs at the target and uploads only its new layer and
 * config too; (b) saves the 77.4 MiB download and the copy into local storage. So the 10× aim holds on loopback
 * for the CI case (cold), not at 50 ms a request: there (b)'s 6 sequential round trips are 300 ms of its 415 ms.
 * "Uploads only the new layer" holds for (b) (plus the 594 B base config read; no layer downloaded).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { appendLayers, type AppendResult } from '../packages/core/src/bake/layer-append.js';
import { closeHttpPools } from '../packages/core/src/http/http.js';
import { parseImageReference } from '../packages/core/src/image/reference.js';
import { registryAvailable, startRegistry } from '../test/sim/registry/registry.js';
import { skopeoAvailable } from '../test/sim/registry/skopeo.js';
import { which } from '../test/sim/registry/util.js';
import {
  CHANGED_FILE,
  containerfile,
  cpuBusy,
  createBuildah,
  isolatedClientFactory,
  mainJs,
  procLoadavg,
  writeAppDir,
  writeBaseImage,
  type BuildahStorage,
} from './lib/bake.js';
import {
  benchMain,
  benchSkopeo,
  cliNodeVersion,
  cliStartupMs,
  defer,
  fmtBytes,
  fmtMs,
  fmtRange,
  fmtRatio,
  mark,
  median,
  now,
  skopeoVersion,
  table,
  tempDir,
} from './lib/harness.js';
import { OCI_MANIFEST } from './lib/image.js';
import { startBenchProxy, type BenchProxy, type ProxyCounts } from './lib/proxy.js';

const runs = Number(process.env.BENCH_RUNS ?? 3);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('BENCH_RUNS must be 1..20');
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
if (!Number.isFinite(LATENCY_MS) || LATENCY_MS <= 0) throw new Error('BENCH_LATENCY_MS must be > 0');
const BASE_MB = Number(process.env.BENCH_BASE_MB ?? 80);
if (!Number.isFinite(BASE_MB) || BASE_MB < 1 || BASE_MB > 2000) {
  throw new Error('BENCH_BASE_MB must be 1..2000');
}
/** The machine counts as idle when its CPUs were busy less than this share of the second before the bench. */
const IDLE_BUSY = 0.1;

type Variant = 'cold' | 'cached' | 'append';
const VARIANTS: Variant[] = ['cold', 'cached', 'append'];
const LABEL: Record<Variant, string> = {
  cold: '(a) rebuild + push, cold storage (pulls the base)',
  cached: '(a) rebuild + push, base cached in storage',
  append: '(b) layer-append (`appendLayers`, in-process)',
};
type Mode = 'direct' | 'latency';
const MODES: Mode[] = ['direct', 'latency'];
const MODE_LABEL: Record<Mode, string> = { direct: '0 ms', latency: `${LATENCY_MS} ms` };

interface Sample {
  ms: number;
  counts: ProxyCounts;
  digestOk: boolean;
  /** (a): time of `buildah bud` and of `buildah push`. */
  budMs?: number;
  pushMs?: number;
  /** (b): Kiln's own account. */
  append?: AppendResult;
}

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${Math.round(x * 100)} %`);

await benchMain(async () => {
  const missing = [
    registryAvailable() ? '' : 'docker-registry',
    skopeoAvailable() ? '' : 'skopeo',
    which('buildah') ? '' : 'buildah',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`bench/bake needs ${missing.join(', ')} on PATH`);
  if (process.getuid?.() !== 0) {
    throw new Error('bench/bake runs buildah with vfs storage as root (as the tests do); run it as root');
  }
  const loadStart = await procLoadavg();
  const busyStart = await cpuBusy();
  const started = now();
  const work = await tempDir('kiln-bench-bake-');

  // ----- Set-up (not timed) -----------------------------------------------------------------------------
  const registry = await startRegistry({ logLevel: 'warn' });
  defer(() => registry.stop());
  const proxies = {} as Record<Mode, BenchProxy>;
  for (const mode of MODES) {
    const p = await startBenchProxy(registry.url, mode === 'direct' ? 0 : LATENCY_MS);
    defer(() => p.close());
    proxies[mode] = p;
  }
  const skopeo = await benchSkopeo();

  const t0 = now();
  const base = await writeBaseImage(join(work, 'base-layout'), work, BASE_MB * 1_000_000);
  await skopeo.copy(base.layoutRef, `docker://${registry.host}/base:1`);
  const baseMs = now() - t0;

  /** The digest a reference holds, read directly from the registry (not through a proxy). */
  const digestOf = async (repo: string, reference: string): Promise<string | undefined> => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { Accept: OCI_MANIFEST },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  };
  if ((await digestOf('base', '1')) !== base.manifestDigest) {
    throw new Error('base:1 was not pushed as written');
  }

  const context = join(work, 'context');
  const app = join(context, 'app');
  const appSize = await writeAppDir(app);
  const baseRef = (mode: Mode) => `${proxies[mode].host}/base:1`;
  const containerfileOf = (mode: Mode) => join(context, `Containerfile.${mode}`);
  for (const mode of MODES) await writeFile(containerfileOf(mode), containerfile(baseRef(mode)));
  /** The code-only change: one file rewritten. */
  const change = (build: string) => writeFile(join(app, CHANGED_FILE), mainJs(build));

  const buildah = await createBuildah(join(work, 'buildah'));
  const newClient = await isolatedClientFactory(join(work, 'kiln-home'));
  let seq = 0;

  /** (a) in storage `s`: `buildah bud`, then `buildah push` to app-bud:<tag>, through the proxy of `mode`. */
  const fullRebuild = async (s: BuildahStorage, mode: Mode, tag: string) => {
    const local = `localhost/kiln-bench-app:${tag}`;
    const digestFile = join(s.dir, `digest-${tag}`);
    const t = now();
    const bud = await buildah.run(s, [
      'bud',
      '--isolation',
      'chroot',
      '--tls-verify=false',
      '--quiet',
      '--file',
      containerfileOf(mode),
      '--tag',
      local,
      context,
    ]);
    const push = await buildah.run(s, [
      'push',
      '--tls-verify=false',
      '--quiet',
      '--digestfile',
      digestFile,
      local,
      `docker://${proxies[mode].host}/app-bud:${tag}`,
    ]);
    const ms = now() - t;
    const digest = (await readFile(digestFile, 'utf8')).trim();
    return { ms, budMs: bud.ms, pushMs: push.ms, digest };
  };

  /** (b): appendLayers to app:<tag> through the proxy of `mode` (a fresh client and connection pool). */
  const layerAppend = async (mode: Mode, tag: string) => {
    const client = newClient();
    const t = now();
    const result = await appendLayers({
      client,
      base: parseImageReference(baseRef(mode)),
      target: parseImageReference(`${proxies[mode].host}/app:${tag}`),
      layers: [{ directory: app, destination: '/app' }],
      config: { workdir: '/app', cmd: ['/app/bin/start'] },
      workDir: work,
    });
    const ms = now() - t;
    await closeHttpPools();
    return { ms, result };
  };

  // The previous version of the app in each target repository (not timed; also checks both ways work).
  await change('seed');
  {
    const s = await buildah.storage('seed');
    await fullRebuild(s, 'direct', '0');
    await buildah.drop(s);
    await layerAppend('direct', '0');
  }
  const coldStart = cliStartupMs();

  // ----- Runs -------------------------------------------------------------------------------------------
  const samples = new Map<string, Sample[]>();
  const key = (v: Variant, mode: Mode) => `${v}|${mode}`;
  const samplesOf = (v: Variant, mode: Mode) => samples.get(key(v, mode)) ?? [];
  const measure = async (variant: Variant, mode: Mode, s: BuildahStorage): Promise<void> => {
    const n = String(++seq);
    const proxy = proxies[mode];
    await change(`${variant}-${n}`);
    await proxy.reset();
    let sample: Sample;
    if (variant === 'append') {
      const { ms, result } = await layerAppend(mode, n);
      const counts = await proxy.counts();
      sample = { ms, counts, digestOk: (await digestOf('app', n)) === result.digest, append: result };
    } else {
      const r = await fullRebuild(s, mode, n);
      const counts = await proxy.counts();
      const digestOk = (await digestOf('app-bud', n)) === r.digest;
      sample = { ms: r.ms, counts, digestOk, budMs: r.budMs, pushMs: r.pushMs };
    }
    if (!sample.digestOk)
      console.error(`warning: ${variant} ${mode} run ${n}: the target holds another digest`);
    samples.set(key(variant, mode), [...samplesOf(variant, mode), sample]);
  };
  const loadBefore = await procLoadavg();
  const roundTimes: number[] = [];
  for (let r = 0; r < runs; r++) {
    const rt = now();
    for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
      const s = await buildah.storage(`round-${r}-${mode}`);
      const order: Variant[] =
        r % 2 === 0 ? ['cold', 'append', 'cached', 'append'] : ['append', 'cold', 'append', 'cached'];
      for (const v of order) await measure(v, mode, s);
      await buildah.drop(s);
    }
    roundTimes.push(now() - rt);
    process.stderr.write(`round ${r + 1}/${runs} done in ${fmtMs(now() - rt)}\n`);
  }
  const loadAfterRuns = await procLoadavg();

  // ----- Both ways make the same application (not timed) ------------------------------------------------
  await change('final');
  const check = await buildah.storage('check');
  await fullRebuild(check, 'direct', 'final');
  await layerAppend('direct', 'final');
  const inspectRun = async (image: string) => {
    const name = `check-${image.replace(/\W/g, '-')}`;
    await buildah.run(check, ['from', '--tls-verify=false', '--quiet', '--name', name, `docker://${image}`]);
    const tree = await buildah.run(check, [
      'run',
      '--isolation',
      'chroot',
      name,
      '--',
      'sh',
      '-c',
      `cd /app && grep -c "BUILD = 'final'" ${CHANGED_FILE} && find . -type f | sort | xargs sha256sum | sha256sum`,
    ]);
    const inspected = JSON.parse(
      (await buildah.run(check, ['inspect', '--type', 'container', name])).stdout,
    ) as {
      OCIv1: { config: { WorkingDir?: string; Cmd?: string[]; Env?: string[] } };
    };
    const c = inspected.OCIv1.config;
    return { out: tree.stdout.trim(), config: JSON.stringify([c.WorkingDir, c.Cmd, c.Env]) };
  };
  const viaBuildah = await inspectRun(`${registry.host}/app-bud:final`);
  const viaAppend = await inspectRun(`${registry.host}/app:final`);
  await buildah.drop(check);
  const sameApp = viaBuildah.out === viaAppend.out && viaBuildah.out.startsWith('1\n');
  const sameConfig = viaBuildah.config === viaAppend.config;
  const loadEnd = await procLoadavg();
  const busyEnd = await cpuBusy();

  // ----- Report -----------------------------------------------------------------------------------------
  const med = (v: Variant, mode: Mode, f: (s: Sample) => number) => median(samplesOf(v, mode).map(f));
  const ms = (v: Variant, mode: Mode) => med(v, mode, (s) => s.ms);
  const up = (v: Variant, mode: Mode) => med(v, mode, (s) => s.counts.uploadedBytes);
  const down = (v: Variant, mode: Mode) => med(v, mode, (s) => s.counts.downloadedBytes);
  const reqs = (v: Variant, mode: Mode) => med(v, mode, (s) => s.counts.requests);
  const idle = busyStart !== undefined && busyStart < IDLE_BUSY;
  const plusStart = (x: number) => (coldStart === undefined ? NaN : x + coldStart);
  const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1×' : '∞') : fmtRatio(a / b));

  const out: string[] = [];
  out.push('## bench/bake: a code-only change, full rebuild + push (buildah) vs layer-append (Kiln)');
  out.push('');
  out.push(
    `Registry: CNCF distribution (\`docker-registry\`) on 127.0.0.1; every request through a counting proxy adding 0 ms or ${LATENCY_MS} ms (no bandwidth limit). ` +
      `Base \`base:1\`: busybox-static + a runtime layer of ${fmtBytes(base.runtimeBytes)} of random data; blobs ${base.layerSizes.map(fmtBytes).join(' + ')} (${fmtBytes(base.blobBytes)} with the config); made and pushed in ${fmtMs(baseMs)}, not timed. ` +
      `App: ${appSize.files} files, ${fmtBytes(appSize.bytes)}; each run rewrites \`${CHANGED_FILE}\`. ` +
      `${buildah.version}; ${skopeoVersion()}; ${cpus().length} cores, ${fmtBytes(totalmem())} RAM. ` +
      `Medians of ${runs} round(s), interleaved (a-cold, b, a-cached, b; every other round b first): ${runs} samples of each (a) and ${2 * runs} of (b) per latency.`,
  );
  out.push('');
  out.push(
    `Load: \`/proc/loadavg\` at the start \`${loadStart}\`, before the rounds \`${loadBefore}\`, after them \`${loadAfterRuns}\`, at the end \`${loadEnd}\`; ` +
      `CPUs busy over one second at the start ${pct(busyStart)}, at the end ${pct(busyEnd)}. ` +
      (idle
        ? `The machine was idle at the start (busy < ${pct(IDLE_BUSY)}); the later load averages include this bench's own work.`
        : `The machine was NOT idle at the start (busy ≥ ${pct(IDLE_BUSY)}): something else was running; both ways are interleaved, but treat the times with care.`),
  );
  out.push('');
  const rows: string[][] = [];
  for (const v of VARIANTS) {
    for (const mode of MODES) {
      const xs = samplesOf(v, mode);
      rows.push([
        LABEL[v],
        MODE_LABEL[mode],
        fmtMs(ms(v, mode)),
        fmtRange(
          xs.map((s) => s.ms),
          fmtMs,
        ),
        v === 'append'
          ? `+CLI start ≈ ${fmtMs(plusStart(ms(v, mode)))}`
          : `bud ${fmtMs(med(v, mode, (s) => s.budMs!))} + push ${fmtMs(med(v, mode, (s) => s.pushMs!))}`,
        fmtBytes(up(v, mode)),
        fmtBytes(down(v, mode)),
        String(reqs(v, mode)),
        // Round trips are told apart by the latency; without one they cannot be.
        mode === 'direct' ? '–' : String(med(v, mode, (s) => s.counts.roundTrips)),
        mark(xs.every((s) => s.digestOk)),
      ]);
    }
  }
  out.push(
    table(
      [
        'way',
        'latency',
        'wall time (median)',
        'range',
        'split',
        'uploaded',
        'downloaded',
        'requests',
        'round trips',
        'digest ok',
      ],
      rows,
    ),
  );
  out.push('');
  out.push(
    `(b) runs in-process, so it excludes a process start-up; the bundled CLI's cold start (\`node dist/cli/index.js --version\`, Node ${cliNodeVersion()}, median of 7) is ` +
      `${coldStart === undefined ? 'n/a' : fmtMs(coldStart)}, added in "+CLI start". Uploaded/downloaded: blob bytes through the proxy; requests and round trips (requests grouped by arrival) likewise.`,
  );
  out.push('');
  out.push(`Requests by route (first ${MODE_LABEL.latency} sample of each way):`);
  for (const v of VARIANTS) {
    const first = samplesOf(v, 'latency')[0]!;
    const routes = Object.entries(first.counts.byRoute)
      .sort((x, y) => y[1] - x[1])
      .map(([route, n]) => `${n}× ${route}`)
      .join(', ');
    const a = first.append;
    const own = a
      ? ` (Kiln's own account: base layers ${a.baseLayers.mounted} mounted, ${a.baseLayers.present} present, ${a.baseLayers.copied} copied; ` +
        `${a.blobsUploaded} blobs uploaded, ${fmtBytes(a.bytesUploaded)}, the new layer ${fmtBytes(a.layers[0]!.size)}; ${a.requests} requests)`
      : '';
    out.push(`- ${LABEL[v]}: ${routes}${own}`);
  }
  out.push('');
  out.push('### Ratios a / b (how many times more (a) takes or moves; median over median)');
  out.push('');
  const ratioRows: string[][] = [];
  for (const v of ['cold', 'cached'] as const) {
    for (const mode of MODES) {
      ratioRows.push([
        LABEL[v].replace('(a) rebuild + push, ', ''),
        MODE_LABEL[mode],
        ratio(ms(v, mode), ms('append', mode)),
        ratio(ms(v, mode), plusStart(ms('append', mode))),
        `${ratio(up(v, mode), up('append', mode))} (${fmtBytes(up(v, mode))} / ${fmtBytes(up('append', mode))})`,
        `${ratio(down(v, mode), down('append', mode))} (${fmtBytes(down(v, mode))} / ${fmtBytes(down('append', mode))})`,
        `${ratio(reqs(v, mode), reqs('append', mode))} (${reqs(v, mode)} / ${reqs('append', mode)})`,
      ]);
    }
  }
  out.push(
    table(
      [
        '(a) variant',
        'latency',
        'wall time',
        'wall time, (b) +CLI start',
        'uploaded',
        'downloaded',
        'requests',
      ],
      ratioRows,
    ),
  );
  out.push('');

  // Aims.
  const allAppends = MODES.flatMap((mode) => samplesOf('append', mode));
  const maxUp = Math.max(...allAppends.map((s) => s.counts.uploadedBytes));
  const maxDown = Math.max(...allAppends.map((s) => s.counts.downloadedBytes));
  const onlyNew = allAppends.every((s) => {
    const a = s.append!;
    const configBytes = a.bytesUploaded - a.layers[0]!.size;
    return (
      s.counts.uploadedBytes === a.bytesUploaded &&
      a.blobsUploaded === 2 &&
      configBytes > 0 &&
      configBytes < 64 * 1024 &&
      a.baseLayers.copied === 0 &&
      // The one blob it reads is the base's config (a small JSON), never a layer.
      s.counts.downloadedBytes < 64 * 1024
    );
  });
  const newLayer = median(allAppends.map((s) => s.append!.layers[0]!.size));
  const aims: Array<[string, string, boolean]> = [];
  for (const v of ['cold', 'cached'] as const) {
    for (const mode of MODES) {
      const r = ms(v, mode) / ms('append', mode);
      aims.push([
        `layer-append ≥ 10× faster than a full rebuild + push, ${v === 'cold' ? 'cold storage (the CI case)' : 'base cached'}, ${MODE_LABEL[mode]}`,
        `${fmtRatio(r)} (with (b) +CLI start: ${fmtRatio(ms(v, mode) / plusStart(ms('append', mode)))})`,
        r >= 10,
      ]);
    }
  }
  aims.push([
    'layer-append uploads only the new layer (+ the image config) and downloads no layer (only the base config)',
    `at most ${fmtBytes(maxUp)} uploaded (the new layer: ${fmtBytes(newLayer)}), ${fmtBytes(maxDown)} downloaded; the base is ${fmtBytes(base.blobBytes)}`,
    onlyNew,
  ]);
  aims.push([
    'both ways make the same application: /app tree (sha256 of every file) with the new main.js; WorkingDir, Cmd, Env',
    `${sameApp ? 'same tree' : `trees differ (${viaBuildah.out} vs ${viaAppend.out})`}; ${sameConfig ? 'same config' : `configs differ (${viaBuildah.config} vs ${viaAppend.config})`}`,
    sameApp && sameConfig,
  ]);
  out.push('### Aims (issue #11)');
  out.push('');
  out.push(
    table(
      ['aim', 'measured', ''],
      aims.map(([a, v, ok]) => [a, v, mark(ok)]),
    ),
  );
  out.push('');
  out.push('Notes:');
  const aUp = up('cold', 'latency');
  const bUp = up('append', 'latency');
  out.push(
    '- buildah runs as root, so its blob-info cache is /var/lib/containers/cache (shared across runs, as on any machine). ' +
      'Having pulled the base in the same job, `buildah push` knows its compressed blobs and can find them at the target (HEAD) instead of recompressing and uploading them. ' +
      (aUp <= bUp * 1.1
        ? `It did: (a) uploaded ${fmtBytes(aUp)}, (b) ${fmtBytes(bUp)}, so both upload only the new layer and a config; what (b) saves is the base's download into local storage, the copy of every layer into it (vfs), and two buildah start-ups.`
        : `It still uploaded more than (b): ${fmtBytes(aUp)} against ${fmtBytes(bUp)}.`),
  );
  out.push(
    '- The proxies add latency, not a bandwidth limit: against a remote registry the cold pull of the base costs more than on loopback, so the cold ratios here are a lower bound.',
  );
  out.push(
    `- Total bench time ${fmtMs(now() - started)} (rounds: ${roundTimes.map(fmtMs).join(', ')}); untimed: the base, a first push by each way, and the final check.`,
  );
  console.log(out.join('\n'));
});
