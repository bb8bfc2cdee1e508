/**
 * One environment on two platforms (QA on Marathon and on Kubernetes, as the demo runs it): a rollback of the
 * Marathon side only considers what ran on Marathon — a digest that only ever ran on Kubernetes is not in its
 * history — while `list` without a platform shows both. Through the `kiln` CLI with a file ledger; the refusals
 * happen before any request.
 */
import { expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { repoRoot } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';

const cli = join(repoRoot, 'dist', 'cli', 'index.js');
const IMAGE = 'registry.example.com/shop/app';
const D = (c: string) => `sha256:${c.repeat(64)}`;

test('a rollback on Marathon does not pick what only ran on Kubernetes; list shows both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-rollback-platforms-'));
  const entry = (n: number, platform: 'kubernetes' | 'marathon', digest: string): LedgerEntry => ({
    id: `r${n}`,
    event: 'deploy',
    environment: 'qa',
    time: `2026-11-30T05:0${n}:00.000Z`,
    image: IMAGE,
    digest,
    result: 'success',
    target: { platform, clusters: [platform === 'marathon' ? 'http://marathon' : 'https://k8s'] },
  });
  const verified = (n: number, digest: string): LedgerEntry => ({
    id: `v${n}`,
    event: 'verify',
    environment: 'qa',
    time: `2026-11-30T05:0${n}:30.000Z`,
    image: IMAGE,
    digest,
    result: 'success',
    verdict: 'passed',
  });
  const lines = [
    entry(1, 'kubernetes', D('a')),
    verified(1, D('a')),
    entry(2, 'marathon', D('b')),
    verified(2, D('b')),
    entry(3, 'marathon', D('c')),
  ];
  writeFileSync(join(dir, 'ledger.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  writeFileSync(
    join(dir, 'app.json'),
    JSON.stringify({ id: '/shop/app', container: { docker: { image: IMAGE } } }),
  );
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    KILN_PLATFORM: 'terminal',
    COLUMNS: '1000',
    NO_COLOR: '1',
  };
  const kiln = (...args: string[]) =>
    runNode([cli, 'rollback', '--environment', 'qa', '--ledger', 'file:ledger.jsonl', ...args], {
      cwd: dir,
      env,
    });
  const marathon = ['--marathon-url', 'http://127.0.0.1:9', '--app-definition', 'app.json'];

  const refused = await kiln(...marathon, '--to', D('a'));
  expect(refused.exitCode).toBe(2);
  expect(refused.stderr).toContain(
    `error: rollback refused: digest ${D('a')} was verified in qa but never deployed there. Nothing was changed.`,
  );

  const list = await kiln('--list', '--json');
  expect(list.exitCode).toBe(0);
  const releases = (JSON.parse(list.stdout) as { releases: LedgerEntry[] }).releases;
  expect(releases.map((e) => e.id)).toEqual(['r3', 'r2', 'r1']);
});
