/**
 * The file ledger (packages/core/src/ledger/file.ts): a JSON Lines file with every environment in it, read back
 * newest first per environment, refusing a corrupt file with the line number, and appending under `<file>.lock` so
 * concurrent writers on one machine never lose an entry — a lock left by a dead process is taken over after 60 s, a
 * live one past the deadline is a conflict.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerError, type LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { FileLedger } from '../../packages/core/src/ledger/file.js';

const IMAGE = 'registry.example.com/shop/web';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let work: string;
let n = 0;
/** A fresh file path in the temp dir (the file does not exist yet). */
const fresh = () => join(work, `ledger-${++n}`, 'releases.jsonl');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-ledger-file-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function entry(i: number, o: Partial<LedgerEntry> = {}): LedgerEntry {
  const t = new Date(Date.UTC(2026, 10, 30, 4, 0, i));
  const iso = t.toISOString();
  return {
    id: `${iso.slice(0, 10).replace(/-/g, '')}.${iso.slice(11, 19).replace(/:/g, '')}.${(i % 65536).toString(16).padStart(4, '0')}`,
    event: 'deploy',
    environment: 'production',
    time: iso,
    image: IMAGE,
    digest: digest('abcdef0123456789'[i % 16] as string),
    result: 'success',
    ...o,
  };
}

const FULL: LedgerEntry = {
  id: '20261130.043012.7f3a',
  event: 'rollback',
  environment: 'production',
  time: '2026-11-30T04:30:12.345Z',
  image: IMAGE,
  digest: digest('a'),
  previousDigest: digest('b'),
  target: {
    platform: 'kubernetes',
    clusters: ['https://k8s.example.com:6443'],
    apps: ['Deployment/web', 'Deployment/worker'],
  },
  commit: '3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e',
  runUrl: 'https://github.com/shop/web/actions/runs/123456789',
  actor: 'alice',
  result: 'success',
  verdict: 'passed',
  of: '20261130.040000.bbbb',
  to: '20261129.220000.aaaa',
  forced: true,
  description: 'roll back web: checkout 500s — "quoted", newline\nand unicode ✓',
};

async function ledgerError(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(LedgerError);
    return e as LedgerError;
  }
  throw new Error('expected a LedgerError');
}

describe('FileLedger: append and list', () => {
  test('an entry with every optional field round-trips', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    expect(l.kind).toBe('file');
    expect(l.location).toBe(path);
    expect(await l.append(FULL)).toBe(FULL);
    expect(await l.list('production')).toEqual([FULL]);
    // one JSON line
    const text = readFileSync(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  test('a relative path is resolved against cwd; location stays as given', async () => {
    const dir = join(work, `rel-${++n}`);
    const l = new FileLedger('state/releases.jsonl', { cwd: dir });
    expect(l.location).toBe('state/releases.jsonl');
    await l.append(entry(1));
    expect(existsSync(join(dir, 'state', 'releases.jsonl'))).toBe(true);
  });

  test('list filters by environment, newest first (by time then id), and honours limit', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    // appended out of time order, two environments, two entries of one second
    const e3 = entry(3);
    const e1 = entry(1);
    const s2 = entry(2, { environment: 'staging' });
    const e5 = entry(5);
    const e5b = { ...entry(5), id: `${entry(5).id.slice(0, 16)}ffff` };
    const e4 = entry(4, { event: 'verify', verdict: 'passed' });
    for (const e of [e3, e1, s2, e5b, e5, e4]) await l.append(e);
    expect((await l.list('production')).map((e) => e.id)).toEqual([e5b.id, e5.id, e4.id, e3.id, e1.id]);
    expect(await l.list('staging')).toEqual([s2]);
    expect(await l.list('qa')).toEqual([]);
    expect((await l.list('production', { limit: 2 })).map((e) => e.id)).toEqual([e5b.id, e5.id]);
  });

  test('the default limit is 100', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(0)); // creates the directory
    const lines = Array.from({ length: 119 }, (_, i) => JSON.stringify(entry(i + 1))).join('\n');
    writeFileSync(path, `${lines}\n`, { flag: 'a' });
    const all = await l.list('production');
    expect(all).toHaveLength(100);
    expect(all[0]?.id).toBe(entry(119).id);
    expect(await l.list('production', { limit: 500 })).toHaveLength(120);
  });

  test('a missing file lists []', async () => {
    expect(await new FileLedger(fresh()).list('production')).toEqual([]);
  });

  test('blank lines are skipped', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1));
    writeFileSync(path, '\n   \n', { flag: 'a' });
    await l.append(entry(2));
    expect(await l.list('production')).toHaveLength(2);
  });
});

describe('FileLedger: a corrupt file', () => {
  test("a line that is not JSON → 'corrupt', naming the line number", async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1));
    await l.append(entry(2));
    writeFileSync(path, '{"id": "20261130.040003.0003", "event": \n', { flag: 'a' });
    const e = await ledgerError(l.list('production'));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toBe(`the ledger ${path} line 3 is not JSON`);
  });

  test("a JSON line that is not an entry → 'corrupt' (even in another environment)", async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1));
    const bad: Record<string, unknown> = { ...entry(2, { environment: 'staging' }) };
    delete bad.digest;
    writeFileSync(path, `${JSON.stringify(bad)}\n`, { flag: 'a' });
    await l.append(entry(3));
    const e = await ledgerError(l.list('production'));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toBe(`the ledger ${path} line 2 is not a Kiln entry`);
    writeFileSync(path, '[1, 2, 3]\n');
    expect((await ledgerError(l.list('production'))).message).toMatch(/line 1 is not a Kiln entry/);
  });
});

describe('FileLedger: the lock', () => {
  test('20 concurrent appends from separate instances on the same file all land, and no lock is left', async () => {
    const path = fresh();
    const entries = Array.from({ length: 20 }, (_, i) => entry(i, { description: `release ${i}` }));
    await Promise.all(entries.map((e) => new FileLedger(path).append(e)));
    const listed = await new FileLedger(path).list('production');
    expect(listed).toHaveLength(20);
    expect(new Set(listed.map((e) => e.id))).toEqual(new Set(entries.map((e) => e.id)));
    expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(20);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(readdirSync(join(path, '..'))).toEqual(['releases.jsonl']);
  });

  test('a stale lock (older than 60 s) is taken over', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1)); // creates the directory
    const lock = `${path}.lock`;
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 2 * 60_000);
    utimesSync(lock, old, old);
    await l.append(entry(2), { deadline: Date.now() + 2_000 });
    expect(await l.list('production')).toHaveLength(2);
    expect(existsSync(lock)).toBe(false);
  });

  test("a fresh lock held past the deadline → 'conflict'; the other process's lock is left alone", async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1));
    const lock = `${path}.lock`;
    writeFileSync(lock, '');
    const started = Date.now();
    const e = await ledgerError(l.append(entry(2), { deadline: Date.now() + 300 }));
    expect(e.kind).toBe('conflict');
    expect(e.message).toBe(
      `the ledger ${path} stayed locked by another process (${lock}) until the deadline`,
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(existsSync(lock)).toBe(true);
    expect(await l.list('production')).toHaveLength(1);
    rmSync(lock);
  });

  test('an append waits for a lock released before the deadline', async () => {
    const path = fresh();
    const l = new FileLedger(path);
    await l.append(entry(1));
    const lock = `${path}.lock`;
    writeFileSync(lock, '');
    const release = setTimeout(() => rmSync(lock), 50);
    try {
      await l.append(entry(2), { deadline: Date.now() + 5_000 });
    } finally {
      clearTimeout(release);
    }
    expect(await l.list('production')).toHaveLength(2);
    expect(existsSync(lock)).toBe(false);
  });
});
