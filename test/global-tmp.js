/**
 * Jest globalSetup/globalTeardown: every temporary file of a test run (the harness's runner files, fixtures'
 * certificates, registries' storage, pipelines' checkouts…) goes under one directory, removed at the end, so a
 * run leaves nothing behind in /tmp. Workers and the processes tests start inherit TMPDIR.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tests-'));
  process.env.KILN_TEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
}

export async function teardown() {
  const dir = process.env.KILN_TEST_TMPDIR;
  if (dir && dir.includes('kiln-tests-')) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
