/**
 * `npx tsx bench/promote.ts` (npm run bench:promote): promote an image that is already in a registry, measured
 * side by side in one run on a real registry (CNCF distribution 2.8, `docker-registry`, on 127.0.0.1).
 *
 * The image: 5 layers of incompressible random bytes (~200 MB; also ~1 GB for the flatness check unless
 * BENCH_LARGE=0), written as an OCI layout and pushed once with skopeo as the starting point. Two moves:
 *
 *   same repo   registry/bench/app:v1 → registry/bench/app:<new tag>          (a retag)
 *   new repo    registry/bench/app:v1 → registry/bench/<new repo>/app:v1      (the target has no blobs)
 *
 * each done by three tools, every run to a fresh target:
 *
 *   Kiln            `kiln promote --source … --targets …` (the bundled CLI, a fresh process per run, flags as
 *                   declared in actions/promote/src/action.ts) when `dist/cli/index.js help` lists it, else the
 *                   same engine (`copyImage`) in-process, which the output says; with the CLI, the engine alone
 *                   in-process is also measured as a reference row (how much is process start-up)
 *   skopeo          `skopeo copy --all --preserve-digests docker://… docker://…` (a fresh process per run)
 *   pull-then-push  `skopeo copy docker://… dir:<tmp>` then `skopeo copy dir:<tmp> docker://…` (what users do
 *                   today with docker pull / tag / push)
 *
 * both directly and through a proxy that adds 50 ms to every request (a remote registry's round trip; it runs
 * in its own process and counts requests, uploaded and downloaded blob bytes and mounts per run). After every
 * run the target's digest is checked against the source's. BENCH_ROUNDS (default 3) rounds, medians reported;
 * BENCH_LARGE=0 skips the 1 GB image (it is on by default: the whole bench takes about 2-3 minutes on 2 cores);
 * BENCH_NODE picks the Node that runs the CLI (default: Node 24, the actions' runtime, from the `node` dev dependency).
 *
 * Aims (the issue): same-repo promote in ≤ 3 registry requests; new-repo promote uploads no layer bytes;
 * through the 50 ms proxy Kiln ≥ 2× faster than skopeo and ≥ 20× faster than pull-then-push; flat as the image
 * grows (1 GB within 1.5× of 200 MB).
 */
import { rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { registryAvailable, startRegistry } from '../test/sim/registry/registry.js';
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
  type KilnRunner,
} from './lib/harness.js';
import { writeBenchImage, OCI_MANIFEST, type BenchImage } from './lib/image.js';
import { startBenchProxy, type BenchProxy, type ProxyCounts } from './lib/proxy.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error('BENCH_ROUNDS must be 1..20');
const large = (process.env.BENCH_LARGE ?? '1') !== '0';
const LATENCY_MS = 50;
const LAYERS = 5;
const SIZES = [
  { label: '200 MB', bytes: 200_000_000 },
  ...(large ? [{ label: '1 GB', bytes: 1_000_000_000 }] : []),
];

type Move = 'same' | 'cross';
type Tool = 'kiln' | 'engine' | 'skopeo' | 'pullpush';
type Mode = 'direct' | 'proxy';
const MOVES: Move[] = ['same', 'cross'];
const MODES: Mode[] = ['direct', 'proxy'];
const MOVE_LABEL: Record<Move, string> = { same: 'same repo, new tag', cross: 'new repo (no blobs there)' };

interface Sample {
  ms: number;
  counts?: ProxyCounts;
  /** Kiln's own account of the run. */
  detail?: string;
  digestKept: boolean;
}
const key = (size: string, move: Move, tool: Tool, mode: Mode) => `${size}|${move}|${tool}|${mode}`;

await benchMain(async () => {
  const missing = [registryAvailable() ? '' : 'docker-registry', skopeoAvailable() ? '' : 'skopeo'].filter(
    Boolean,
  );
  if (missing.length > 0) throw new Error(`bench/promote needs ${missing.join(' and ')} on PATH`);
  const started = now();
  const work = await tempDir('kiln-bench-promote-');

  const registry = await startRegistry({ logLevel: 'warn' });
  defer(() => registry.stop());
  const proxy: BenchProxy = await startBenchProxy(registry.url, LATENCY_MS);
  defer(() => proxy.close());
  const hostOf = (mode: Mode) => (mode === 'direct' ? registry.host : proxy.host);

  const skopeo = await benchSkopeo();
  let seq = 0;
  const fresh = () => `r${++seq}`;

  /** The digest a reference holds, read directly from the registry (not through the proxy). */
  const digestOf = async (repo: string, reference: string): Promise<string | undefined> => {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
      method: 'HEAD',
      headers: { Accept: OCI_MANIFEST },
    });
    return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
  };

  // Images: generated, then pushed once with skopeo as the starting point.
  const images = new Map<string, { image: BenchImage; repo: string; genMs: number; seedMs: number }>();
  for (const size of SIZES) {
    const t0 = now();
    const image = await writeBenchImage(join(work, `image-${size.bytes}`), {
      totalBytes: size.bytes,
      layers: LAYERS,
      seed: size.label,
    });
    const genMs = now() - t0;
    const repo = `bench/app-${size.label.replace(/\W/g, '').toLowerCase()}`;
    const t1 = now();
    await skopeo.copy(image.ref, `docker://${registry.host}/${repo}:v1`);
    const seedMs = now() - t1;
    const seeded = await digestOf(repo, 'v1');
    if (seeded !== image.manifestDigest) {
      throw new Error(`seed push of ${size.label} holds ${seeded}, expected ${image.manifestDigest}`);
    }
    await rm(image.dir, { recursive: true, force: true }); // the registry has it now
    images.set(size.label, { image, repo, genMs, seedMs });
  }

  const firstRepo = images.get(SIZES[0]!.label)!.repo;
  const kiln: KilnRunner = await kilnRunner('promote', () => ({
    source: `${registry.host}/${firstRepo}:v1`,
    target: `${registry.host}/${firstRepo}:cli-probe`,
  }));
  // With the CLI, the engine also runs in-process (a reference row: how much of Kiln's time is start-up).
  const engine = kiln.mode === 'cli' ? await kilnInProcess('promote') : undefined;
  const TOOLS: Tool[] = engine ? ['kiln', 'engine', 'skopeo', 'pullpush'] : ['kiln', 'skopeo', 'pullpush'];
  const coldStart = cliStartupMs();
  /** Added to in-process times for the "+start" estimates, when Kiln could not run as the CLI. */
  const startup = kiln.mode === 'in-process' ? coldStart : undefined;

  /** The target of a move: a new tag in the source repo, or a new repo. */
  const targetOf = (repo: string, move: Move, tool: Tool) => {
    const id = fresh();
    return move === 'same'
      ? { repo, reference: `${tool}-${id}` }
      : { repo: `bench/${tool}-${id}/app`, reference: 'v1' };
  };

  /** One timed move to a fresh target, with the proxy's counts (50 ms runs) and a digest check. */
  const once = async (size: string, move: Move, tool: Tool, mode: Mode): Promise<Sample> => {
    const { repo, image } = images.get(size)!;
    const host = hostOf(mode);
    const src = `${host}/${repo}:v1`;
    const dst = targetOf(repo, move, tool);
    const dstRef = `${host}/${dst.repo}:${dst.reference}`;
    if (mode === 'proxy') await proxy.reset();
    let ms: number;
    let detail: string | undefined;
    if (tool === 'kiln' || tool === 'engine') {
      const r = await (tool === 'kiln' ? kiln : engine!).run(src, dstRef);
      ms = r.ms;
      detail = r.detail;
    } else if (tool === 'skopeo') {
      ms = (await skopeo.copy(`docker://${src}`, `docker://${dstRef}`)).ms;
    } else {
      const dir = join(work, `pulled-${fresh()}`);
      try {
        ms = (await skopeo.copy(`docker://${src}`, `dir:${dir}`)).ms;
        ms += (await skopeo.copy(`dir:${dir}`, `docker://${dstRef}`)).ms;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const counts = mode === 'proxy' ? await proxy.counts() : undefined;
    const digestKept = (await digestOf(dst.repo, dst.reference)) === image.manifestDigest;
    if (!digestKept) console.error(`warning: ${tool} ${move} ${mode} ${size}: target digest differs`);
    return { ms, counts, detail, digestKept };
  };

  // Warm-up (not measured): one cheap move per tool and mode, so the first measured run does not pay for the
  // registry's cold caches.
  for (const mode of MODES) {
    for (const tool of TOOLS.filter((t) => t !== 'pullpush')) await once(SIZES[0]!.label, 'same', tool, mode);
  }

  const samples = new Map<string, Sample[]>();
  const roundTimes: number[] = [];
  const loadBefore = load();
  for (let r = 0; r < rounds; r++) {
    const t0 = now();
    for (const size of SIZES) {
      for (const mode of MODES) {
        for (const move of MOVES) {
          // Alternate the order of the tools from round to round.
          const order = r % 2 === 0 ? TOOLS : [...TOOLS].reverse();
          for (const tool of order) {
            const k = key(size.label, move, tool, mode);
            samples.set(k, [...(samples.get(k) ?? []), await once(size.label, move, tool, mode)]);
          }
        }
      }
    }
    roundTimes.push(now() - t0);
    process.stderr.write(`round ${r + 1}/${rounds} done in ${fmtMs(now() - t0)}\n`);
  }

  // ----- Report -----------------------------------------------------------------------------------------
  const med = (size: string, move: Move, tool: Tool, mode: Mode) =>
    median(samples.get(key(size, move, tool, mode))!.map((s) => s.ms));
  const countsOf = (size: string, move: Move, tool: Tool) =>
    samples.get(key(size, move, tool, 'proxy'))!.map((s) => s.counts!);
  const kilnCli = (ms: number) => ms + (startup ?? 0);
  const toolLabel: Record<Tool, string> = {
    kiln: kiln.mode === 'cli' ? 'Kiln `kiln promote` (CLI)' : 'Kiln `copyImage` (in-process)',
    engine: '(ref.) Kiln engine in-process, no start-up',
    skopeo: '`skopeo copy --all --preserve-digests`',
    pullpush: 'pull-then-push (skopeo → dir → registry)',
  };

  const out: string[] = [];
  out.push(`## bench/promote: Kiln promote vs skopeo vs pull-then-push`);
  out.push('');
  out.push(
    `Registry: CNCF distribution (\`docker-registry\`) on 127.0.0.1; "50 ms" = through a proxy adding ${LATENCY_MS} ms to every request. ` +
      `Image: ${LAYERS} layers of random data (gzip level 0). Median of ${rounds} round(s); every run to a fresh target ` +
      `(new tag, or a new repo that has none of the blobs); digests checked after every run. ${skopeoVersion()}; ` +
      `${cpus().length} cores; 1-min load average ${loadBefore} before the rounds, ${load()} after.`,
  );
  out.push('');
  out.push(`Kiln: ${kiln.how}.${engine ? ` Reference row: ${engine.how}.` : ''}`);
  out.push(
    `The CLI's cold start (\`node dist/cli/index.js --version\`, Node ${cliNodeVersion()}, median of 7): ${coldStart === undefined ? 'n/a' : fmtMs(coldStart)}` +
      (startup !== undefined
        ? `; figures marked "+start" add it to Kiln's in-process time as an estimate of a fresh \`kiln promote\` process.`
        : '.'),
  );
  out.push('');

  for (const size of SIZES) {
    const info = images.get(size.label)!;
    out.push(
      `### ${size.label} image (${info.image.blobs} blobs, ${fmtBytes(info.image.blobBytes)}; generated in ${fmtMs(info.genMs)}, seeded with skopeo in ${fmtMs(info.seedMs)})`,
    );
    out.push('');
    const rows: string[][] = [];
    for (const move of MOVES) {
      for (const tool of TOOLS) {
        const c = countsOf(size.label, move, tool);
        const all = MODES.flatMap((m) => samples.get(key(size.label, move, tool, m))!);
        rows.push([
          MOVE_LABEL[move],
          toolLabel[tool],
          fmtMs(med(size.label, move, tool, 'direct')),
          fmtMs(med(size.label, move, tool, 'proxy')),
          fmtRange(c.map((x) => x.requests)),
          fmtRange(c.map((x) => x.roundTrips)),
          fmtRange(
            c.map((x) => x.uploadedBytes),
            fmtBytes,
          ),
          fmtRange(
            c.map((x) => x.downloadedBytes),
            fmtBytes,
          ),
          `${fmtRange(c.map((x) => x.mounted))}/${fmtRange(c.map((x) => x.mountsTried))}`,
          mark(all.every((s) => s.digestKept)),
        ]);
      }
    }
    out.push(
      table(
        [
          'move',
          'tool',
          'direct',
          '50 ms',
          'requests',
          'round trips',
          'uploaded',
          'downloaded',
          'mounted/tried',
          'digest kept',
        ],
        rows,
      ),
    );
    out.push('');
    out.push(
      `Requests, sequential round trips, uploaded/downloaded blob bytes and mounts are counted by the proxy per run ` +
        `(the 50 ms runs; direct runs make the same requests). Round trips: requests grouped by arrival time; the ` +
        `50 ms latency is paid once per round trip.`,
    );
    const kilnByRoute = (move: Move) =>
      Object.entries(countsOf(size.label, move, 'kiln')[0]!.byRoute)
        .map(([route, n]) => `${n}× ${route}`)
        .join(', ');
    const kilnSays = (move: Move) => samples.get(key(size.label, move, 'kiln', 'proxy'))![0]!.detail ?? 'n/a';
    out.push(
      `Kiln same repo: ${kilnByRoute('same')} (Kiln's own account: ${kilnSays('same')}). ` +
        `Kiln new repo: ${kilnByRoute('cross')} (Kiln's own account: ${kilnSays('cross')}).`,
    );
    out.push('');
  }

  // Ratios.
  out.push('### Ratios (how many times faster Kiln is; median over median)');
  out.push('');
  const ratioRows: string[][] = [];
  for (const size of SIZES) {
    for (const move of MOVES) {
      for (const other of ['skopeo', 'pullpush'] as const) {
        const cells = MODES.map((mode) => {
          const k = med(size.label, move, 'kiln', mode);
          const o = med(size.label, move, other, mode);
          const base = fmtRatio(o / k);
          return startup === undefined ? base : `${base} (+start ${fmtRatio(o / kilnCli(k))})`;
        });
        ratioRows.push([size.label, MOVE_LABEL[move], `${toolLabel[other]} / Kiln`, ...cells]);
      }
    }
  }
  out.push(table(['image', 'move', 'ratio', 'direct', '50 ms'], ratioRows));
  out.push('');

  // Aims.
  /** `ok` undefined: not measured. */
  type Aim = { aim: string; value: string; ok?: boolean; est?: { value: string; ok: boolean } };
  const aims: Aim[] = [];
  const small = SIZES[0]!.label;
  for (const size of SIZES) {
    const sameReq = Math.max(...countsOf(size.label, 'same', 'kiln').map((c) => c.requests));
    aims.push({
      aim: `${size.label}: same-repo promote in ≤ 3 registry requests`,
      value: `${sameReq} requests`,
      ok: sameReq <= 3,
    });
    const up = Math.max(...countsOf(size.label, 'cross', 'kiln').map((c) => c.uploadedBytes));
    aims.push({
      aim: `${size.label}: new-repo promote uploads no layer bytes`,
      value: `${fmtBytes(up)} uploaded`,
      ok: up === 0,
    });
  }
  for (const size of SIZES) {
    for (const move of MOVES) {
      for (const [other, want] of [
        ['skopeo', 2],
        ['pullpush', 20],
      ] as const) {
        const k = med(size.label, move, 'kiln', 'proxy');
        const o = med(size.label, move, other, 'proxy');
        // No promote can beat its own round trips: each costs the proxy's latency, whatever the tool.
        const trips = Math.min(...countsOf(size.label, move, 'kiln').map((c) => c.roundTrips));
        const ceiling =
          other === 'pullpush' && trips > 0
            ? ` (ceiling for any tool needing ${trips} round trips, i.e. ${trips * LATENCY_MS} ms of latency alone: ${fmtRatio(o / (trips * LATENCY_MS))})`
            : '';
        aims.push({
          aim: `${size.label}, 50 ms, ${MOVE_LABEL[move]}: Kiln ≥ ${want}× faster than ${other === 'skopeo' ? 'skopeo' : 'pull-then-push'}`,
          value: `${fmtRatio(o / k)}${ceiling}`,
          ok: o / k >= want,
          ...(startup !== undefined
            ? { est: { value: fmtRatio(o / kilnCli(k)), ok: o / kilnCli(k) >= want } }
            : {}),
        });
      }
    }
  }
  if (SIZES.length > 1) {
    const big = SIZES[1]!.label;
    for (const mode of MODES) {
      for (const move of MOVES) {
        const a = med(small, move, 'kiln', mode);
        const b = med(big, move, 'kiln', mode);
        aims.push({
          aim: `flat, ${mode === 'proxy' ? '50 ms' : 'direct'}, ${MOVE_LABEL[move]}: Kiln ${big} ≤ 1.5× Kiln ${small}`,
          value: `${fmtRatio(b / a)} (${fmtMs(a)} → ${fmtMs(b)})`,
          ok: b / a <= 1.5,
          ...(startup !== undefined
            ? {
                est: {
                  value: fmtRatio(kilnCli(b) / kilnCli(a)),
                  ok: kilnCli(b) / kilnCli(a) <= 1.5,
                },
              }
            : {}),
        });
      }
    }
  } else {
    aims.push({
      aim: 'flat as the image grows (1 GB vs 200 MB)',
      value: 'not run (BENCH_LARGE=0)',
    });
  }
  out.push('### Aims');
  out.push('');
  const estHead = startup !== undefined ? ['+start (est.)', ''] : [];
  out.push(
    table(
      ['aim', 'measured', '', ...estHead],
      aims.map((a) => [
        a.aim,
        a.value,
        a.ok === undefined ? '–' : mark(a.ok),
        ...(startup !== undefined ? (a.est ? [a.est.value, mark(a.est.ok)] : ['', '']) : []),
      ]),
    ),
  );
  out.push('');
  out.push('Notes:');
  out.push(
    '- skopeo is run with `--all --preserve-digests`: without `--all` skopeo copies only the host platform of an index, ' +
      'and without `--preserve-digests` it may convert or recompress layers, so a naive `skopeo copy` can change the digest ' +
      '(this image is a single manifest with gzip layers, so here the flags change nothing; they matter for indexes).',
  );
  if (process.getuid?.() === 0) {
    out.push(
      '- skopeo runs as root here, so it keeps its blob-info cache in /var/lib/containers/cache across runs: having seen where the ' +
        'blobs are, it mounts them into a new repo (see mounted/tried), as docker push does after a pull. It uploads the config blob rather than mounting it.',
    );
  }
  out.push(
    '- The proxy adds latency, not a bandwidth limit: on loopback a blob download runs at disk/CPU speed, so pull-then-push here ' +
      'is a lower bound of what it costs against a real remote registry, and the 20× aim is hardest at 200 MB: there pull-then-push ' +
      'takes under 2 s, while a promote cannot take less than its sequential round trips (2 for a retag: read the source, write the tag) ' +
      'times 50 ms, so no tool can reach 20× there (see the ceilings in the table).',
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
    `- Total bench time ${fmtMs(now() - started)} (rounds: ${roundTimes.map(fmtMs).join(', ')}); one untimed warm-up move per tool and mode first.`,
  );
  console.log(out.join('\n'));
});
