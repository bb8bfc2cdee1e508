/**
 * `npx tsx bench/push.ts` (npm run bench:push): push an OCI image layout to a registry, Kiln vs skopeo, measured
 * side by side in one run on a real registry (CNCF distribution 2.8, `docker-registry`, on 127.0.0.1).
 *
 * The image: 5 layers of incompressible random bytes (~200 MB, gzip level 0), written as an OCI layout. For every
 * round, connection mode and tool, a fresh empty registry, then three pushes of the same layout:
 *
 *   first push        into the empty registry (every blob is uploaded)
 *   re-push           the same image to the same tag (nothing should move)
 *   new tag           the same image to another tag of the same repo (every blob is already there)
 *
 * Tools: Kiln `kiln push-registry --source oci:<dir>:<tag> --destinations …` (the bundled CLI, a fresh process per
 * run, flags as declared in actions/push-registry/src/action.ts) when `dist/cli/index.js help` lists it, else the
 * same engine (`pushImage(localImageSource(openImageSource('oci:…')))`) in-process, which the output says (with
 * the CLI, the engine alone is also measured as a reference row); and
 * `skopeo copy --all --preserve-digests oci:<dir>:<tag> docker://…`. Both directly and through a proxy that adds
 * 50 ms to every request (it runs in its own process and counts requests and uploaded bytes). The digest at the
 * target is checked after every push. BENCH_ROUNDS (default 3) rounds, medians reported; BENCH_NODE picks the
 * Node that runs the CLI (default: Node 24, the actions' runtime, from the `node` dev dependency).
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { registryAvailable, startRegistry, type RunningRegistry } from '../test/sim/registry/registry.js';
import { skopeoAvailable } from '../test/sim/registry/skopeo.js';
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
  kilnInProcess,
  kilnRunner,
  load,
  mark,
  median,
  now,
  skopeoVersion,
  table,
  tempDir,
  type KilnRun,
  type KilnRunner,
} from './lib/harness.js';
import { OCI_MANIFEST, writeBenchImage } from './lib/image.js';
import { startBenchProxy, type BenchProxy, type ProxyCounts } from './lib/proxy.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('BENCH_ROUNDS must be 1..20');
const LATENCY_MS = 50;
const LAYERS = 5;
const BYTES = 200_000_000;

type Case = 'first' | 'repush' | 'newtag';
type Tool = 'kiln' | 'engine' | 'skopeo';
type Mode = 'direct' | 'proxy';
const CASES: Case[] = ['first', 'repush', 'newtag'];
const MODES: Mode[] = ['direct', 'proxy'];
const CASE_LABEL: Record<Case, string> = {
  first: 'first push (empty registry)',
  repush: 're-push, same tag',
  newtag: 'push to a new tag (blobs there)',
};

interface Sample {
  ms: number;
  counts?: ProxyCounts;
  digestOk: boolean;
  /** Kiln's own account of the run. */
  action?: string;
  detail?: string;
}
const key = (c: Case, tool: Tool, mode: Mode) => `${c}|${tool}|${mode}`;

await benchMain(async () => {
  const missing = [registryAvailable() ? '' : 'docker-registry', skopeoAvailable() ? '' : 'skopeo'].filter(
    Boolean,
  );
  if (missing.length > 0) throw new Error(`bench/push needs ${missing.join(' and ')} on PATH`);
  const started = now();
  const work = await tempDir('kiln-bench-push-');
  const t0 = now();
  const image = await writeBenchImage(join(work, 'layout'), {
    totalBytes: BYTES,
    layers: LAYERS,
    seed: 'push',
  });
  const genMs = now() - t0;
  const skopeo = await benchSkopeo();

  /** A fresh registry (and proxy), stopped when `fn` is done. */
  const withRegistry = async <T>(
    mode: Mode,
    fn: (host: string, registry: RunningRegistry, proxy?: BenchProxy) => Promise<T>,
  ): Promise<T> => {
    const registry = await startRegistry({ logLevel: 'warn' });
    defer(() => registry.stop());
    let proxy: BenchProxy | undefined;
    try {
      if (mode === 'proxy') {
        proxy = await startBenchProxy(registry.url, LATENCY_MS);
        defer(() => proxy!.close());
      }
      return await fn(proxy?.host ?? registry.host, registry, proxy);
    } finally {
      await proxy?.close();
      await registry.stop();
    }
  };

  /** The digest a tag holds, read directly from the registry. */
  const digestOf = async (registry: RunningRegistry, reference: string) => {
    const res = await fetch(`${registry.url}/v2/bench/app/manifests/${reference}`, {
      method: 'HEAD',
      headers: { Accept: OCI_MANIFEST },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  };

  // How Kiln is run (a trial push on a throwaway registry decides whether the CLI works).
  const probeRegistry = await startRegistry({ logLevel: 'warn' });
  defer(() => probeRegistry.stop());
  const kiln: KilnRunner = await kilnRunner('push-registry', () => ({
    source: image.ref,
    target: `${probeRegistry.host}/probe/app:v1`,
  }));
  await probeRegistry.stop();
  // With the CLI, the engine also runs in-process (a reference row: how much of Kiln's time is start-up).
  const engine = kiln.mode === 'cli' ? await kilnInProcess('push-registry') : undefined;
  const TOOLS: Tool[] = engine ? ['kiln', 'engine', 'skopeo'] : ['kiln', 'skopeo'];
  const coldStart = cliStartupMs();
  /** Added to in-process times for the "+start" estimates, when Kiln could not run as the CLI. */
  const startup = kiln.mode === 'in-process' ? coldStart : undefined;

  const pushWith = async (tool: Tool, target: string): Promise<KilnRun> =>
    tool === 'kiln'
      ? kiln.run(image.ref, target)
      : tool === 'engine'
        ? engine!.run(image.ref, target)
        : skopeo.copy(image.ref, `docker://${target}`);

  // Warm-up (not measured): the page cache holds the layout, and each tool has run once.
  await withRegistry('direct', async (host) => {
    for (const tool of TOOLS) await pushWith(tool, `${host}/warm/${tool}:v1`);
  });

  const samples = new Map<string, Sample[]>();
  const add = (k: string, s: Sample) => samples.set(k, [...(samples.get(k) ?? []), s]);
  const roundTimes: number[] = [];
  const loadBefore = load();
  for (let r = 0; r < rounds; r++) {
    const rt = now();
    for (const mode of MODES) {
      const order = r % 2 === 0 ? TOOLS : [...TOOLS].reverse();
      for (const tool of order) {
        await withRegistry(mode, async (host, registry, proxy) => {
          for (const c of CASES) {
            const tag = c === 'newtag' ? 'v2' : 'v1';
            await proxy?.reset();
            const res = await pushWith(tool, `${host}/bench/app:${tag}`);
            const counts = await proxy?.counts();
            const digestOk = (await digestOf(registry, tag)) === image.manifestDigest;
            if (!digestOk) console.error(`warning: ${tool} ${c} ${mode}: target digest differs`);
            add(key(c, tool, mode), { ms: res.ms, counts, digestOk, action: res.action, detail: res.detail });
          }
        });
      }
    }
    roundTimes.push(now() - rt);
    process.stderr.write(`round ${r + 1}/${rounds} done in ${fmtMs(now() - rt)}\n`);
  }

  // ----- Report -----------------------------------------------------------------------------------------
  const med = (c: Case, tool: Tool, mode: Mode) => median(samples.get(key(c, tool, mode))!.map((s) => s.ms));
  const countsOf = (c: Case, tool: Tool) => samples.get(key(c, tool, 'proxy'))!.map((s) => s.counts!);
  const kilnCli = (ms: number) => ms + (startup ?? 0);
  const toolLabel: Record<Tool, string> = {
    kiln: kiln.mode === 'cli' ? 'Kiln `kiln push-registry` (CLI)' : 'Kiln `pushImage` (in-process)',
    engine: '(ref.) Kiln engine in-process, no start-up',
    skopeo: '`skopeo copy --all --preserve-digests oci:… docker://…`',
  };

  const out: string[] = [];
  out.push('## bench/push: Kiln push of an OCI layout vs skopeo');
  out.push('');
  out.push(
    `Registry: CNCF distribution (\`docker-registry\`) on 127.0.0.1, a fresh empty one per tool, mode and round; "50 ms" = through a proxy adding ${LATENCY_MS} ms to every request. ` +
      `Image: OCI layout, ${image.blobs} blobs (${LAYERS} layers of random data, gzip level 0), ${fmtBytes(image.blobBytes)}, generated in ${fmtMs(genMs)}. ` +
      `Median of ${rounds} round(s); digests checked after every push. ${skopeoVersion()}; ${cpus().length} cores; ` +
      `1-min load average ${loadBefore} before the rounds, ${load()} after.`,
  );
  out.push('');
  out.push(`Kiln: ${kiln.how}.${engine ? ` Reference row: ${engine.how}.` : ''}`);
  out.push(
    `The CLI's cold start (\`node dist/cli/index.js --version\`, Node ${cliNodeVersion()}, median of 7): ${coldStart === undefined ? 'n/a' : fmtMs(coldStart)}` +
      (startup !== undefined
        ? `; figures marked "+start" add it to Kiln's in-process time as an estimate of a fresh \`kiln push-registry\` process.`
        : '.'),
  );
  out.push('');
  const rows: string[][] = [];
  for (const c of CASES) {
    for (const tool of TOOLS) {
      const cs = countsOf(c, tool);
      const all = MODES.flatMap((m) => samples.get(key(c, tool, m))!);
      const actions = [...new Set(all.map((s) => s.action).filter(Boolean))].join('/');
      rows.push([
        CASE_LABEL[c],
        toolLabel[tool] + (actions ? ` (${actions})` : ''),
        fmtMs(med(c, tool, 'direct')),
        fmtMs(med(c, tool, 'proxy')),
        fmtRange(cs.map((x) => x.requests)),
        fmtRange(cs.map((x) => x.roundTrips)),
        fmtRange(
          cs.map((x) => x.uploadedBytes),
          fmtBytes,
        ),
        mark(all.every((s) => s.digestOk)),
      ]);
    }
  }
  out.push(
    table(['case', 'tool', 'direct', '50 ms', 'requests', 'round trips', 'uploaded', 'digest ok'], rows),
  );
  out.push('');
  out.push(
    'Requests, sequential round trips (requests grouped by arrival time) and uploaded blob bytes are counted by the proxy per push (the 50 ms runs).',
  );
  for (const c of CASES) {
    for (const tool of TOOLS.filter((t) => t !== 'engine')) {
      const routes = Object.entries(countsOf(c, tool)[0]!.byRoute)
        .map(([route, n]) => `${n}× ${route}`)
        .join(', ');
      const own = tool === 'kiln' ? samples.get(key(c, tool, 'proxy'))![0]!.detail : undefined;
      out.push(`- ${CASE_LABEL[c]}, ${tool}: ${routes}${own ? ` (Kiln's own account: ${own})` : ''}`);
    }
  }
  out.push('');
  out.push('### Ratios (skopeo / Kiln: how many times faster Kiln is; median over median)');
  out.push('');
  out.push(
    table(
      ['case', 'direct', '50 ms'],
      CASES.map((c) => [
        CASE_LABEL[c],
        ...MODES.map((mode) => {
          const k = med(c, 'kiln', mode);
          const s = med(c, 'skopeo', mode);
          return startup === undefined
            ? fmtRatio(s / k)
            : `${fmtRatio(s / k)} (+start ${fmtRatio(s / kilnCli(k))})`;
        }),
      ]),
    ),
  );
  out.push('');
  const repushUp = Math.max(...countsOf('repush', 'kiln').map((x) => x.uploadedBytes));
  const newtagUp = Math.max(...countsOf('newtag', 'kiln').map((x) => x.uploadedBytes));
  const firstUp = Math.max(...countsOf('first', 'kiln').map((x) => x.uploadedBytes));
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  /** Writes (POST, PATCH, PUT) Kiln made in a case, at most over the rounds. */
  const writes = (c: Case) =>
    Math.max(
      ...countsOf(c, 'kiln').map((x) =>
        Object.entries(x.byRoute)
          .filter(([route]) => /^(POST|PATCH|PUT) /.test(route))
          .reduce((n, [, k]) => n + k, 0),
      ),
    );
  const checks: Array<[string, string, boolean]> = [
    [
      'first push uploads each blob once',
      `${fmtBytes(firstUp)} of ${fmtBytes(image.blobBytes)}`,
      firstUp === image.blobBytes,
    ],
    ['re-push (same tag) uploads nothing', fmtBytes(repushUp), repushUp === 0],
    ['re-push (same tag) writes nothing', plural(writes('repush'), 'write'), writes('repush') === 0],
    ['push to a new tag (blobs there) uploads nothing', fmtBytes(newtagUp), newtagUp === 0],
    [
      'push to a new tag (blobs there) writes only the manifest',
      plural(writes('newtag'), 'write'),
      writes('newtag') === 1,
    ],
  ];
  out.push('### Checks (Kiln)');
  out.push('');
  out.push(
    table(
      ['check', 'measured', ''],
      checks.map(([a, v, ok]) => [a, v, mark(ok)]),
    ),
  );
  out.push('');
  out.push('Notes:');
  out.push(
    '- skopeo gets `--preserve-digests` (and `--all`): the layers are already gzip so it would not recompress them anyway, but with uncompressed layers a plain `skopeo copy oci:… docker://…` compresses them and changes the digest.',
  );
  if (kiln.mode === 'cli') {
    out.push(
      "- Kiln's CLI times include Node's start-up and exit (see the cold start above); the reference row is the same engine without them.",
    );
  }
  if (kiln.mode === 'in-process') {
    out.push(
      '- Kiln ran in-process (see above): its times exclude process start-up, skopeo\'s include it; the "+start" figures add the measured cold start of the current CLI bundle.',
    );
  }
  out.push(
    `- Total bench time ${fmtMs(now() - started)} (rounds: ${roundTimes.map(fmtMs).join(', ')}); one untimed warm-up push per tool first.`,
  );
  console.log(out.join('\n'));
});
