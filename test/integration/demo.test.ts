/**
 * The README's main command: `npm run demo` must keep working exactly as the README describes it — the whole
 * pipeline with the real `kiln` CLI against a real registry and the simulators — and say what it needs when the
 * registry is missing. No timing assertion: the demo reports its own wall time.
 */
import { expect, test } from '@jest/globals';
import { join } from 'node:path';
import { repoRoot } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';

const demo = [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'scripts/demo.ts')];
const baseEnv = () => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  TMPDIR: process.env.TMPDIR,
  NO_COLOR: '1',
});

/** The lines of a table row that starts with `first` (the ledger list wraps long cells onto a second line). */
function row(out: string, first: RegExp): string {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => first.test(l));
  return i < 0 ? '' : `${lines[i]}\n${lines[i + 1] ?? ''}`;
}

test('npm run demo: bake, QA on Marathon and Kubernetes, smoke test, gated promote, prod AA+BB, automatic and manual rollback', async () => {
  const r = await runNode(demo, { env: baseEnv() });
  const out = r.stdout + r.stderr;
  if (r.exitCode !== 0) throw new Error(`the demo failed (exit ${r.exitCode}):\n${out}`);
  expect(out).not.toContain('Demo failed');
  expect(out).not.toContain('✗ not what the demo expects');
  for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 8]) expect(out).toMatch(new RegExp(`^━━ ${n}\\. `, 'm'));

  const host = /registry +http:\/\/(127\.0\.0\.1:\d+) /.exec(out)?.[1] as string;
  expect(host).toBeDefined();
  const repo = `${host}/shop/app`.replace(/\./g, '\\.');
  const digestOf = (version: string) =>
    new RegExp(`^→ baked ${version.replace(/\./g, '\\.')}: ${repo}@(sha256:[0-9a-f]{64})$`, 'm').exec(
      out,
    )?.[1] as string;

  // 0. The base image published with push-registry; production on 1.0.0.
  expect(out).toMatch(
    new RegExp(`^→ base image ${host.replace(/\./g, '\\.')}/platform/runtime:1 = sha256:`, 'm'),
  );
  const v100 = digestOf('1.0.0');
  const v110 = digestOf('1.1.0');
  const v120 = digestOf('1.2.0');
  expect(new Set([v100, v110, v120]).size).toBe(3);
  expect(out).toContain('→ production (AA, BB) runs 1.0.0, deployed and verified');

  // 1. Bake with layer-append: verified inside as root, skipped (and said so) otherwise.
  expect(out).toMatch(/^\$ kiln bake-image --builder layer-append /m);
  expect(out).toMatch(
    /^bake-image: baked sha256:[0-9a-f]{12} with layer-append \(linux\/amd64\) in \S+;(\s+verify (passed|skipped);)?\s+pushed 1 tag/m,
  );
  if (/verify passed;/.test(out)) expect(out).toContain('shop-app 1.1.0: self-test passed');
  else expect(out).toMatch(/^warning: verify skipped: |no self-test here/m);

  // 2. QA on both platforms, pinned by digest, recorded.
  expect(out).toMatch(/^→ Marathon QA: deployed, release \S+$/m);
  expect(out).toMatch(/^→ Kubernetes QA: deployed, release \S+$/m);
  expect(out).toMatch(/^ledger: deploy \S+ recorded in qa /m);

  // 3. The smoke test waits out the warm-up and records its verdict.
  expect(out).toMatch(/status 503, expected 200/);
  expect(out).toMatch(/^smoke-test PASS: 2 check\(s\) passed/m);
  expect(out).toMatch(/^ledger: verify \S+ recorded in qa /m);
  expect(out).toContain('→ QA verdict for 1.1.0: pass');

  // 4. Gated promote of the last verified digest.
  expect(out).toMatch(/^\$ kiln promote --source \S+@last-verified --require-verified qa --tags 1\.1\.0/m);
  expect(out).toContain(`→ promoted ${host}/shop/app:1.1.0 = ${v110.slice(0, 19)} (the digest QA passed)`);

  // 5. Production in AA and BB, verified by the deploy.
  expect(out).toMatch(/^verify: pass in \S+ — 2 check\(s\) passed$/m);
  expect(out).toContain(
    `→ production: deployed, verify passed; AA runs 1.1.0 (${v110.slice(0, 19)}), BB runs 1.1.0 (${v110.slice(0, 19)})`,
  );

  // 6. The gate refuses what QA never passed; then 1.2.0 goes through QA.
  expect(out).toMatch(
    /^error: refusing to promote \S+:1\.2\.0-rc:\s+sha256:[0-9a-f]{64} was never verified in qa/m,
  );
  expect(out).toContain('→ refused (exit 2): 1.2.0 has no passed verdict in QA yet');
  expect(out).toContain('→ QA verdict for 1.2.0: pass');
  expect(out).toContain(`→ promoted ${host}/shop/app:1.2.0 = ${v120.slice(0, 19)}`);

  // 7. The crash loop in production, rolled back automatically and recorded so.
  expect(out).toMatch(/crash loop: the new version keeps failing/);
  expect(out).toMatch(/payments\.url is not set/);
  expect(out).toMatch(
    /^ledger: deploy 1\.2\.0 recorded in prod \([^)]*\):\s+\S+@sha256:[0-9a-f]{64}\s+rolled-back\./m,
  );
  expect(out).toContain(
    `→ exit 1, rolled-back; AA runs 1.1.0 (${v110.slice(0, 19)}), BB runs 1.1.0 (${v110.slice(0, 19)})`,
  );

  // 8. The ledger as a person reads it, then the rollback to the previous good release.
  expect(out).toMatch(/^\$ kiln rollback --environment prod --list /m);
  expect(out).toMatch(/^📜 prod: 5 recent release\(s\); 1\.1\.0 runs now$/m);
  expect(row(out, /^1\.2\.0 /)).toMatch(/deploy: rolled-back\s+not verified\s+sha256:/);
  expect(row(out, /^1\.1\.0 \(running\)/)).toMatch(/deploy: success\s+passed\s+sha256:/);
  expect(row(out, /^1\.0\.0 /)).toMatch(/deploy: success\s+passed\s+sha256:/);
  expect(out.match(/promote: success/g)?.length).toBeGreaterThanOrEqual(2);
  expect(out).toMatch(/^\$ kiln rollback --environment prod --to previous /m);
  expect(out).toMatch(/^rollback: done in \S+ \(ledger \S+, registry \S+, deploy and wait \S+\)\.$/m);
  expect(out).toContain('→ rolled-back: prod is back on release 1.0.0 (from 1.1.0)');
  expect(out).toMatch(/^📜 prod: 6 recent release\(s\); \S+ runs now$/m);
  expect(out).toMatch(/rollback to 1\.0\.0:/);
  expect(out).toContain("→ prod's ledger now starts with the rollback: 6 entries, nothing rewritten");

  // What runs at the end.
  expect(out).toContain(`Marathon QA        1.2.0 (${v120.slice(0, 19)})`);
  expect(out).toContain(`Marathon prod AA   1.0.0 (${v100.slice(0, 19)})`);
  expect(out).toContain(`Marathon prod BB   1.0.0 (${v100.slice(0, 19)})`);
  expect(out).toMatch(/^Demo finished in \d+\.\d s: baked, deployed to QA on Marathon and Kubernetes/m);
}, 300_000);

test('without the registry the demo says how to get it, in one line', async () => {
  const r = await runNode(demo, {
    env: { ...baseEnv(), KILN_REGISTRY_BIN: '/nonexistent/docker-registry' },
  });
  expect(r.exitCode).toBe(1);
  expect(r.stdout).toBe("The demo needs Debian's docker-registry: sudo apt-get install -y docker-registry\n");
  expect(r.stderr).toBe('');
}, 60_000);
