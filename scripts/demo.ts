/**
 * `npm run demo`: the whole pipeline, locally, with the bundled `kiln` CLI (dist/cli/index.js, run as a user runs
 * it, in a terminal) against local equipment (scripts/demo-equipment.ts): a real registry (Debian's
 * `docker-registry`), three Marathons (QA, prod AA, prod BB) and a Kubernetes API server (QA) from the simulators.
 *
 *   0. the platform team's base image is published (push-registry); production runs release 1.0.0 already;
 *   1. release 1.1.0 is baked with layer-append (no daemon, no root): the app's layers on the base, verified inside;
 *   2. it is deployed to QA on Marathon and on Kubernetes, pinned by digest, recorded in QA's release ledger;
 *   3. smoke-test checks QA and records its verdict;
 *   4. promote releases the last digest that passed QA as 1.1.0 (the gate reads the ledger);
 *   5. deploy-marathon deploys it to production in datacenters AA and BB and verifies it there;
 *   6. release 1.2.0: refused by the gate until QA passed it, then through QA;
 *   7. in production 1.2.0 crash-loops (its prod config lacks a setting): rolled back automatically to 1.1.0;
 *   8. a person rolls production back from the ledger: the list of releases, then `--to previous` (1.0.0).
 *
 * Needs Debian's docker-registry (`.ci/run` installs it); without it the demo says so in one line and exits 1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  KUBE_TIME_SCALE,
  kubeRunning,
  MARATHON_TIME_SCALE,
  marathonRunning,
  registryAvailable,
  startEquipment,
  writeAppVersion,
  type Equipment,
} from './demo-equipment.js';

const started = performance.now();
/** The kiln command under way, and the equipment: stopped on Ctrl-C, SIGTERM, or a closed stdout (`| head`). */
let running: ChildProcess | undefined;
let equipment: Equipment | undefined;
let stopping = false;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'index.js');
const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const width = Math.min(process.stdout.columns || 100, 120);
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const out = (s = '') => void (stopping || process.stdout.write(`${s}\n`));
const seconds = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

if (!registryAvailable()) {
  out("The demo needs Debian's docker-registry: sudo apt-get install -y docker-registry");
  process.exit(1);
}

/** The step under way (for a failure's message). */
let step = 'starting';

/** A step's banner: what happens and why. */
function banner(title: string, why: string): void {
  step = title;
  out();
  out(bold(`━━ ${title} ${'━'.repeat(Math.max(3, width - title.length - 4))}`));
  for (const line of wrap(why, width - 3)) out(dim(`   ${line}`));
}

function wrap(text: string, room: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** `$ kiln …` as a user would type it, broken into lines of whole flags. */
function commandLine(args: string[]): string[] {
  const quote = (a: string) => (/^[\w@%+=:,./[\]-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    if (a.startsWith('--') && next !== undefined && !next.startsWith('--')) {
      words.push(`${a} ${quote(next)}`);
      i++;
    } else words.push(quote(a));
  }
  const lines: string[] = [];
  let line = '$ kiln';
  for (const w of words) {
    if (line.length + 1 + w.length > width - 2) {
      lines.push(`${line} \\`);
      line = `    ${w}`;
    } else line = `${line} ${w}`;
  }
  lines.push(line);
  return lines;
}

interface Run {
  code: number;
  outputs: Record<string, unknown>;
  /** What Kiln printed (log and summary). */
  log: string;
}

/**
 * Runs `kiln <args> --json` in the workspace: the log and summary (stderr) go to the screen as they come (unless
 * `quiet`), the outputs (stdout, JSON) are returned.
 */
function kiln(eq: Equipment, args: string[], o: { quiet?: boolean } = {}): Promise<Run> {
  if (!o.quiet) for (const l of commandLine(args)) out(bold(l));
  else {
    const line = `$ kiln ${args.join(' ')}`;
    const room = width - ' (output folded)'.length;
    out(dim(`${line.length > room ? `${line.slice(0, room - 1)}…` : line} (output folded)`));
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KILN_')) env[k] = v;
  // The job's own temp dir, as on a CI runner: what Kiln writes there (the rendered app definition) is this run's.
  Object.assign(
    env,
    { KILN_PLATFORM: 'terminal', COLUMNS: String(width), TMPDIR: eq.tmp },
    tty ? { FORCE_COLOR: '1' } : {},
  );
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [cli, ...args, '--json'], { cwd: eq.workspace, env });
    running = child;
    let stdout = '';
    let log = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      log += c.toString();
      if (!o.quiet && !stopping) process.stdout.write(c);
    });
    child.on('error', fail);
    child.on('close', (code) => {
      running = undefined;
      let outputs: Record<string, unknown> = {};
      try {
        outputs = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
      } catch {
        log += stdout;
      }
      done({ code: code ?? 1, outputs, log });
    });
  });
}

/** The demo's own verdict on a step: `→ …` under Kiln's output; anything else ends the demo, with Kiln's output. */
function result(ok: boolean, text: string, run?: Run): void {
  if (ok) {
    out(bold(`→ ${text}`));
    return;
  }
  out(bold(`✗ not what the demo expects${run ? ` (kiln exited ${run.code})` : ''}: ${text}`));
  if (run?.log && !stopping) process.stdout.write(`\n${run.log}`);
  throw new DemoFailed(`${step}: ${text}`);
}

class DemoFailed extends Error {}

const short = (digest: unknown) => String(digest).slice(0, 'sha256:'.length + 12);
const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));

async function main(eq: Equipment): Promise<void> {
  const repo = eq.repository;
  const ep = eq.endpoints;
  const prodUrls = `AA=${eq.marathon.aa.url},BB=${eq.marathon.bb.url}`;

  out(bold('Kiln demo: a release through the whole pipeline, a bad one rolled back, a rollback by hand.'));
  out('Local equipment on 127.0.0.1, stopped at the end:');
  const row = (name: string, url: string, what: string) =>
    out(`  ${name.padEnd(17)} ${url.padEnd(23)} ${what}`);
  const sim = (scale: number, app: string) => `simulator at ${scale}× speed; app at ${app}`;
  row('registry', eq.registry.url, "Debian's docker-registry: the images and the release ledger");
  row('Marathon QA', eq.marathon.qa.url, sim(MARATHON_TIME_SCALE, ep.marathonQa));
  row('Marathon prod AA', eq.marathon.aa.url, sim(MARATHON_TIME_SCALE, ep.aa));
  row('Marathon prod BB', eq.marathon.bb.url, sim(MARATHON_TIME_SCALE, ep.bb));
  row('Kubernetes QA', eq.kube.url, sim(KUBE_TIME_SCALE, ep.kubeQa));
  row('workspace', eq.workspace, "the pipeline's checkout: app/, deploy/, smoke/");
  out('("app at": the app\'s health endpoint there.) Each step shows the kiln command it runs and what kiln');
  out("prints; the lines starting with → are the demo's own reading of kiln's outputs.");

  const bake = (version: string, quiet = false) =>
    kiln(
      eq,
      [
        'bake-image',
        '--builder',
        'layer-append',
        '--base',
        `${eq.baseRepository}:1`,
        '--layers',
        'app/build:/app',
        '--layers',
        'app/config:/app/config',
        '--entrypoint',
        '["/app/bin/start"]',
        '--workdir',
        '/app',
        '--expose',
        '12345',
        '--repository',
        repo,
        '--tags',
        `type=raw,value=${version}-rc`,
        ...(eq.baseHasShell ? ['--verify', '/app/bin/start --check'] : []),
      ],
      { quiet },
    );
  const baked = (version: string, r: Run) => {
    const digest = str(r.outputs['digest']);
    result(r.code === 0 && /^sha256:/.test(digest), `baked ${version}: ${repo}@${digest}`, r);
    eq.versions.set(digest, version);
    return digest;
  };
  const deployMarathon = (env: 'qa' | 'prod', urls: string, digest: string, version: string, quiet = false) =>
    kiln(
      eq,
      [
        'deploy-marathon',
        '--marathon-url',
        urls,
        '--app-definition',
        `deploy/${env}-deploy.json`,
        '--image',
        repo,
        '--digest',
        digest,
        '--vars',
        `ENV=${env}`,
        '--environment',
        env,
        ...(env === 'prod'
          ? [
              '--release-id',
              version,
              '--verify',
              'smoke/prod.yml',
              '--vars',
              `VERSION=${version}`,
              '--vars',
              `AA_APP=${ep.aa}`,
              '--vars',
              `BB_APP=${ep.bb}`,
            ]
          : []),
        '--poll-interval',
        '200ms',
      ],
      { quiet },
    );
  const deployK8s = (digest: string, quiet = false) =>
    kiln(
      eq,
      [
        'deploy-k8s',
        '--kubeconfig',
        'kubeconfig-qa.yaml',
        '--manifests',
        'deploy/k8s/app.yaml',
        '--image',
        repo,
        '--digest',
        digest,
        '--vars',
        'ENV=qa',
        '--environment',
        'qa',
      ],
      { quiet },
    );
  const smokeQa = (digest: string, version: string, quiet = false) =>
    kiln(
      eq,
      [
        'smoke-test',
        '--checks',
        'smoke/qa.yml',
        '--vars',
        `VERSION=${version}`,
        '--vars',
        `MARATHON_QA_APP=${ep.marathonQa}`,
        '--vars',
        `KUBERNETES_QA_APP=${ep.kubeQa}`,
        '--environment',
        'qa',
        '--image',
        `${repo}@${digest}`,
      ],
      { quiet },
    );
  const promote = (version: string, quiet = false) =>
    kiln(
      eq,
      [
        'promote',
        '--source',
        `${repo}@last-verified`,
        '--require-verified',
        'qa',
        '--tags',
        version,
        '--environment',
        'prod',
      ],
      { quiet },
    );
  const describe = (image: string | undefined) => {
    if (!image) return 'nothing healthy';
    const digest = image.slice(image.indexOf('@') + 1);
    return `${eq.versions.get(digest) ?? '?'} (${short(digest)})`;
  };
  const runsIn = (which: 'qa' | 'aa' | 'bb') => describe(marathonRunning(eq.marathon[which]));

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '0. Before the pipeline: the base image, and production on release 1.0.0',
    "The platform team publishes its runtime base image from an OCI layout with push-registry (no daemon: Kiln speaks the registry protocol). Production already runs last week's release 1.0.0, baked and deployed with Kiln (output folded).",
  );
  const base = await kiln(eq, [
    'push-registry',
    '--source',
    'base/oci',
    '--destinations',
    `${eq.baseRepository}:1`,
  ]);
  result(base.code === 0, `base image ${eq.baseRepository}:1 = ${str(base.outputs['digest'])}`, base);
  writeAppVersion(eq.workspace, '1.0.0');
  const v100 = baked('1.0.0', await bake('1.0.0', true));
  const prod100 = await deployMarathon('prod', prodUrls, v100, '1.0.0', true);
  result(
    prod100.code === 0,
    `production (AA, BB) runs 1.0.0, deployed and verified: recorded in prod's ledger`,
    prod100,
  );

  // ---------------------------------------------------------------------------------------------------------------
  writeAppVersion(eq.workspace, '1.1.0');
  banner(
    `1. Bake release 1.1.0 with layer-append${eq.baseHasShell ? ', verify it' : ''}, push it`,
    `The app's build output and its config become two new layers on top of the base image. No Docker daemon, no root: Kiln writes the layers and speaks the registry protocol. ${eq.baseHasShell ? "Before anything is pushed, verify runs the app's self-test inside the new image's file system (a chroot, as root; skipped with a warning otherwise): the only time the base's layers are downloaded." : 'This machine has no static busybox for the base image, so there is no self-test here (apt-get install busybox-static).'} The push mounts the base's layers into the app's repository instead of uploading them. The digest is the release from here on.`,
  );
  const v110 = baked('1.1.0', await bake('1.1.0'));

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '2. Deploy 1.1.0 to QA: Marathon and Kubernetes, pinned by digest',
    "Each deploy waits until the new version is healthy (or rolls back), and records the release in QA's ledger: OCI artifacts in the app's own repository.",
  );
  const qaM = await deployMarathon('qa', `QA=${eq.marathon.qa.url}`, v110, '1.1.0');
  result(
    qaM.code === 0 && qaM.outputs['result'] === 'deployed',
    `Marathon QA: ${str(qaM.outputs['result'])}, release ${str(qaM.outputs['release-id'])}`,
    qaM,
  );
  out();
  const qaK = await deployK8s(v110);
  result(
    qaK.code === 0 && qaK.outputs['result'] === 'deployed',
    `Kubernetes QA: ${str(qaK.outputs['result'])}, release ${str(qaK.outputs['release-id'])}`,
    qaK,
  );

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '3. Smoke-test QA and record the verdict',
    'The app answers 503 while it warms up: the checks retry until the new version answers healthy on both platforms. The verdict is recorded for the digest in QA’s ledger; it is what the promotion gate reads.',
  );
  const smoke = await smokeQa(v110, '1.1.0');
  result(
    smoke.code === 0 && smoke.outputs['verdict'] === 'pass',
    `QA verdict for 1.1.0: ${str(smoke.outputs['verdict'])}`,
    smoke,
  );

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '4. Promote the last digest that passed QA as 1.1.0',
    "`@last-verified` reads QA's ledger: no digest is pasted between jobs. The gate (`--require-verified qa`) refuses anything QA did not pass. The image is tagged by digest in the registry (no pull, no push of layers) and the promotion is recorded in prod's ledger.",
  );
  const p110 = await promote('1.1.0');
  result(
    p110.code === 0 && p110.outputs['digest'] === v110,
    `promoted ${repo}:1.1.0 = ${short(p110.outputs['digest'])} (the digest QA passed)`,
    p110,
  );

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '5. Deploy 1.1.0 to production: datacenters AA and BB, verified',
    'One step, both Marathons (one after the other; a failure in either returns both). `--verify smoke/prod.yml` runs the checks once the new version is healthy: a verdict other than pass would roll it back.',
  );
  const prod110 = await deployMarathon('prod', prodUrls, v110, '1.1.0');
  result(
    prod110.code === 0 && prod110.outputs['result'] === 'deployed' && prod110.outputs['verdict'] === 'passed',
    `production: ${str(prod110.outputs['result'])}, verify ${str(prod110.outputs['verdict'])}; AA runs ${runsIn('aa')}, BB runs ${runsIn('bb')}`,
    prod110,
  );

  // ---------------------------------------------------------------------------------------------------------------
  writeAppVersion(eq.workspace, '1.2.0', { forgetProdSetting: true });
  banner(
    '6. Release 1.2.0: the gate, then QA',
    "1.2.0 reads a new setting, payments.url; application-qa.yaml has it, application-prod.yaml was forgotten. Promoting it before QA passed it is refused (exit code 2, nothing written). Then it goes through QA like 1.1.0 (output folded) and passes: QA's config is fine.",
  );
  const v120 = baked('1.2.0', await bake('1.2.0', true));
  eq.marathon.aa.setScenario(`${repo}@${v120}`, {
    kind: 'crash-loop',
    crashAfterSeconds: 8,
    message: 'Exit code 1: application-prod.yaml: payments.url is not set',
  });
  eq.marathon.bb.setScenario(`${repo}@${v120}`, {
    kind: 'crash-loop',
    crashAfterSeconds: 8,
    message: 'Exit code 1: application-prod.yaml: payments.url is not set',
  });
  out();
  const refused = await kiln(eq, [
    'promote',
    '--source',
    `${repo}:1.2.0-rc`,
    '--require-verified',
    'qa',
    '--tags',
    '1.2.0',
    '--environment',
    'prod',
  ]);
  result(
    refused.code === 2,
    `refused (exit ${refused.code}): 1.2.0 has no passed verdict in QA yet`,
    refused,
  );
  out();
  const qa120 = await deployMarathon('qa', `QA=${eq.marathon.qa.url}`, v120, '1.2.0', true);
  result(qa120.code === 0, `Marathon QA: ${str(qa120.outputs['result'])}`, qa120);
  const k120 = await deployK8s(v120, true);
  result(k120.code === 0, `Kubernetes QA: ${str(k120.outputs['result'])}`, k120);
  const s120 = await smokeQa(v120, '1.2.0', true);
  result(s120.code === 0, `QA verdict for 1.2.0: ${str(s120.outputs['verdict'])}`, s120);
  const p120 = await promote('1.2.0', true);
  result(
    p120.code === 0 && p120.outputs['digest'] === v120,
    `promoted ${repo}:1.2.0 = ${short(p120.outputs['digest'])}`,
    p120,
  );

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '7. Deploy 1.2.0 to production: it crash-loops, Kiln rolls it back',
    'The new tasks exit at start. Kiln sees the crash loop within seconds (Marathon itself would retry forever), returns every datacenter it changed to 1.1.0, waits until that is healthy again, and records the release as rolled-back.',
  );
  const prod120 = await deployMarathon('prod', prodUrls, v120, '1.2.0');
  result(
    prod120.code === 1 && prod120.outputs['result'] === 'rolled-back',
    `exit ${prod120.code}, ${str(prod120.outputs['result'])}; AA runs ${runsIn('aa')}, BB runs ${runsIn('bb')}`,
    prod120,
  );

  // ---------------------------------------------------------------------------------------------------------------
  banner(
    '8. Roll production back by hand, from the ledger',
    'A customer reports a bug in 1.1.0. The on-call engineer lists what ran in prod, then rolls back to the previous good release: the newest earlier one that succeeded, was not rolled back and passed verification (1.2.0 is skipped). Kiln checks its image is still in the registry, deploys that digest, waits, and records the rollback.',
  );
  const list = await kiln(eq, ['rollback', '--environment', 'prod', '--list', '--image', repo]);
  result(
    list.code === 0,
    `listed ${Array.isArray(list.outputs['releases']) ? list.outputs['releases'].length : '?'} entries of prod's ledger`,
    list,
  );
  out();
  const back = await kiln(eq, [
    'rollback',
    '--environment',
    'prod',
    '--to',
    'previous',
    '--image',
    repo,
    '--marathon-url',
    prodUrls,
    '--app-definition',
    'deploy/prod-deploy.json',
    '--vars',
    'ENV=prod',
    '--poll-interval',
    '200ms',
  ]);
  result(
    back.code === 0 && back.outputs['to-digest'] === v100,
    `${str(back.outputs['result'])}: prod is back on release ${str(back.outputs['to-release'])} (from ${str(back.outputs['from-release'])})`,
    back,
  );

  out();
  const after = await kiln(eq, ['rollback', '--environment', 'prod', '--list', '--image', repo]);
  const entries = Array.isArray(after.outputs['releases'])
    ? (after.outputs['releases'] as Array<{ event?: string; result?: string }>)
    : [];
  result(
    after.code === 0 && entries[0]?.event === 'rollback' && entries[0]?.result === 'success',
    `prod's ledger now starts with the rollback: ${entries.length} entries, nothing rewritten`,
    after,
  );
  out();
  out(bold('What runs now'));
  out(`  Marathon QA        ${runsIn('qa')}`);
  out(`  Kubernetes QA      ${describe(kubeRunning(eq.kube))}`);
  out(`  Marathon prod AA   ${runsIn('aa')}`);
  out(`  Marathon prod BB   ${runsIn('bb')}`);
  if (!runsIn('aa').startsWith('1.0.0') || !runsIn('bb').startsWith('1.0.0'))
    throw new DemoFailed('production does not run 1.0.0 after the rollback');
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  running?.kill('SIGTERM');
  try {
    await equipment?.close();
  } catch (err) {
    process.stderr.write(`demo: stopping the equipment: ${String(err)}\n`);
  }
  process.exit(code);
}
process.once('SIGINT', () => void stop(130));
process.once('SIGTERM', () => void stop(143));
process.stdout.on('error', () => void stop(1));

let eq: Equipment;
try {
  eq = equipment = await startEquipment();
} catch (err) {
  out(`The demo could not start its local equipment: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
let code = 0;
try {
  await main(eq);
  out();
  out(
    bold(
      `Demo finished in ${seconds()}: baked, deployed to QA on Marathon and Kubernetes, verified, promoted, deployed to prod AA and BB; a crash-looping release rolled back automatically; prod rolled back by hand from the ledger.`,
    ),
  );
} catch (err) {
  code = 1;
  out();
  out(bold(`Demo failed after ${seconds()}: ${err instanceof DemoFailed ? err.message : String(err)}`));
  if (!(err instanceof DemoFailed) && err instanceof Error && err.stack) out(err.stack);
} finally {
  await eq.close();
}
process.exitCode = code;
