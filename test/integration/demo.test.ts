/** The README's main command: `npm run demo` must keep working exactly as the README describes it. */
import { expect, test } from '@jest/globals';
import { join } from 'node:path';
import { repoRoot } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';

test('npm run demo deploys, verifies, and rolls a crash-looping release back', async () => {
  const r = await runNode(
    [join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), join(repoRoot, 'scripts/demo.ts')],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, NO_COLOR: '1' },
    },
  );
  expect(r.exitCode).toBe(0);
  const out = r.stdout + r.stderr;
  expect(out).toContain('result            deployed');
  expect(out).toContain('smoke-test PASS');
  expect(out).toContain('result            rolled-back');
  expect(out).toMatch(/Marathon now runs\s+registry\.example\.com\/shop\/app@sha256:2{64}/);
  expect(out).toContain('Demo finished: deployed, verified, and a bad release rolled back');
}, 120_000);
