/**
 * Ledger entries read back from outside (packages/core/src/ledger/entry.ts): parseEntry checks a hand-edited file's
 * or another tool's payload field by field, keeping a Kiln entry and dropping what it does not know; and release ids
 * (packages/core/src/ledger/id.ts): generated from the UTC time so they sort as made, suffixed when taken.
 */
import { describe, expect, test } from '@jest/globals';
import { LedgerError, parseEntry, type LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { generateReleaseId, RELEASE_ID, uniqueReleaseId } from '../../packages/core/src/ledger/id.js';

const IMAGE = 'registry.example.com/shop/web';
const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

const MINIMAL: LedgerEntry = {
  id: '20261130.043012.7f3a',
  event: 'deploy',
  environment: 'production',
  time: '2026-11-30T04:30:12.345Z',
  image: IMAGE,
  digest: A,
  result: 'success',
};

const FULL: LedgerEntry = {
  ...MINIMAL,
  event: 'rollback',
  previousDigest: B,
  target: { platform: 'marathon', clusters: ['https://marathon.example.com'], apps: ['/shop/web'] },
  commit: '3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e',
  runUrl: 'https://gitlab.example.com/shop/web/-/pipelines/4242',
  actor: 'alice',
  verdict: 'inconclusive',
  of: '20261130.040000.bbbb',
  to: '20261129.220000.aaaa',
  forced: true,
  description: 'roll back web',
};

const REQUIRED = ['id', 'event', 'environment', 'time', 'image', 'digest', 'result'] as const;

describe('parseEntry', () => {
  test('accepts a full entry as it is', () => {
    expect(parseEntry(FULL)).toEqual(FULL);
    expect(parseEntry(JSON.parse(JSON.stringify(FULL)))).toEqual(FULL);
    expect(parseEntry(MINIMAL)).toEqual(MINIMAL);
  });

  test('returns a new object, dropping unknown fields (top level and in target)', () => {
    const input = {
      ...FULL,
      extra: 'x',
      labels: { team: 'shop' },
      nested: { a: 1 },
      target: { ...FULL.target, namespace: 'shop' },
    };
    const e = parseEntry(input);
    expect(e).toEqual(FULL);
    expect(e).not.toBe(input);
    expect(Object.keys(e ?? {})).not.toContain('extra');
    expect(Object.keys(e?.target ?? {})).toEqual(['platform', 'clusters', 'apps']);
  });

  test.each(REQUIRED)('rejects an entry without %s', (k) => {
    const v: Record<string, unknown> = { ...FULL };
    delete v[k];
    expect(parseEntry(v)).toBeUndefined();
  });

  test.each(REQUIRED)('rejects an entry whose %s is empty or not a string', (k) => {
    expect(parseEntry({ ...FULL, [k]: '' })).toBeUndefined();
    expect(parseEntry({ ...FULL, [k]: 42 })).toBeUndefined();
    expect(parseEntry({ ...FULL, [k]: null })).toBeUndefined();
  });

  test('rejects an unknown event or result', () => {
    expect(parseEntry({ ...MINIMAL, event: 'redeploy' })).toBeUndefined();
    expect(parseEntry({ ...MINIMAL, event: 'Deploy' })).toBeUndefined();
    expect(parseEntry({ ...MINIMAL, result: 'ok' })).toBeUndefined();
    expect(parseEntry({ ...MINIMAL, result: 'rolled_back' })).toBeUndefined();
    for (const event of ['deploy', 'rollback', 'promote', 'verify'])
      expect(parseEntry({ ...MINIMAL, event })?.event).toBe(event);
    for (const result of ['success', 'failure', 'rolled-back'])
      expect(parseEntry({ ...MINIMAL, result })?.result).toBe(result);
  });

  test('rejects input that is not an object', () => {
    for (const v of [undefined, null, 'deploy', 42, true, [], [MINIMAL]])
      expect(parseEntry(v)).toBeUndefined();
  });

  test('rejects an over-long required string (more than 4096 characters); 4096 is fine', () => {
    expect(parseEntry({ ...MINIMAL, environment: 'p'.repeat(4097) })).toBeUndefined();
    expect(parseEntry({ ...MINIMAL, id: 'x'.repeat(4097) })).toBeUndefined();
    expect(parseEntry({ ...MINIMAL, environment: 'p'.repeat(4096) })?.environment).toHaveLength(4096);
  });

  test('drops an over-long optional string, keeping the entry', () => {
    const e = parseEntry({ ...FULL, description: 'd'.repeat(4097), commit: 'c'.repeat(4097) });
    expect(e).toBeDefined();
    expect(e?.description).toBeUndefined();
    expect(e?.commit).toBeUndefined();
    expect(e?.actor).toBe('alice');
  });

  test('drops an optional field of the wrong type', () => {
    const e = parseEntry({ ...MINIMAL, previousDigest: 42, actor: ['alice'], of: null });
    expect(e).toEqual(MINIMAL);
  });

  test('ignores an unknown verdict, keeping the entry', () => {
    expect(parseEntry({ ...MINIMAL, verdict: 'maybe' })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, verdict: 'Passed' })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, verdict: true })).toEqual(MINIMAL);
    for (const verdict of ['passed', 'failed', 'inconclusive'])
      expect(parseEntry({ ...MINIMAL, verdict })?.verdict).toBe(verdict);
  });

  test('drops a target with a bad platform, or one that is not an object', () => {
    expect(parseEntry({ ...MINIMAL, target: { platform: 'nomad', apps: ['web'] } })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, target: { apps: ['web'] } })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, target: 'kubernetes' })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, target: [{ platform: 'kubernetes' }] })).toEqual(MINIMAL);
    expect(parseEntry({ ...MINIMAL, target: null })).toEqual(MINIMAL);
  });

  test('keeps a target with a known platform, dropping lists that are not all strings', () => {
    for (const platform of ['marathon', 'kubernetes', 'registry'] as const)
      expect(parseEntry({ ...MINIMAL, target: { platform } })?.target).toEqual({ platform });
    expect(
      parseEntry({
        ...MINIMAL,
        target: { platform: 'kubernetes', clusters: ['a', 1], apps: 'Deployment/web' },
      })?.target,
    ).toEqual({ platform: 'kubernetes' });
    expect(parseEntry({ ...MINIMAL, target: { platform: 'registry', apps: [] } })?.target).toEqual({
      platform: 'registry',
      apps: [],
    });
  });

  test('forced only when exactly true', () => {
    expect(parseEntry({ ...MINIMAL, forced: true })?.forced).toBe(true);
    for (const forced of [false, 'true', 1, null]) {
      const e = parseEntry({ ...MINIMAL, forced });
      expect(e).toEqual(MINIMAL);
      expect(e && 'forced' in e).toBe(false);
    }
  });
});

describe('LedgerError', () => {
  test('carries its kind and cause', () => {
    const cause = new Error('EACCES');
    const e = new LedgerError('cannot read the ledger releases.jsonl', 'unreachable', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('LedgerError');
    expect(e.kind).toBe('unreachable');
    expect(e.cause).toBe(cause);
    expect(e.message).toBe('cannot read the ledger releases.jsonl');
  });
});

describe('generateReleaseId', () => {
  test('UTC date, time and the random part: 20261130.043012.7f3a', () => {
    expect(generateReleaseId(new Date('2026-11-30T04:30:12.345Z'), () => '7f3a')).toBe(
      '20261130.043012.7f3a',
    );
    // UTC, whatever the offset written
    expect(generateReleaseId(new Date('2026-11-30T23:59:59+01:00'), () => '0000')).toBe(
      '20261130.225959.0000',
    );
  });

  test('the default random part is four hex digits, and the id matches RELEASE_ID', () => {
    const id = generateReleaseId(new Date('2026-01-02T03:04:05Z'));
    expect(id).toMatch(/^20260102\.030405\.[0-9a-f]{4}$/);
    expect(id).toMatch(RELEASE_ID);
    expect(generateReleaseId()).toMatch(/^\d{8}\.\d{6}\.[0-9a-f]{4}$/);
  });

  test('ids sort in time order, whatever the random part', () => {
    const times = [
      '2025-12-31T23:59:59.999Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:01.000Z',
      '2026-01-01T09:59:59.000Z',
      '2026-01-01T10:00:00.000Z',
      '2026-11-30T04:30:12.000Z',
    ];
    const randoms = ['ffff', '0000', '7f3a', 'a000', '0001', '1234'];
    const ids = times.map((t, i) => generateReleaseId(new Date(t), () => randoms[i] as string));
    expect([...ids].reverse().sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(RELEASE_ID);
  });
});

describe('RELEASE_ID', () => {
  test('what a release id may be', () => {
    for (const ok of ['142', 'v1.2.3', '20261130.043012.7f3a', 'rc_1-2', 'A', 'x'.repeat(100)])
      expect(ok).toMatch(RELEASE_ID);
    for (const bad of ['', '.hidden', '-x', '_x', 'a b', 'a/b', 'sha256:abc', 'x'.repeat(101), 'ü'])
      expect(bad).not.toMatch(RELEASE_ID);
  });
});

describe('uniqueReleaseId', () => {
  test('an id not taken is kept', () => {
    expect(uniqueReleaseId('142', new Set())).toBe('142');
    expect(uniqueReleaseId('142', new Set(['141', '142.2']))).toBe('142');
  });

  test('a taken id gets .2, then .3 …', () => {
    expect(uniqueReleaseId('142', new Set(['142']))).toBe('142.2');
    expect(uniqueReleaseId('142', new Set(['142', '142.2']))).toBe('142.3');
    expect(uniqueReleaseId('142', new Set(['142', '142.2', '142.3', '142.5']))).toBe('142.4');
    const generated = '20261130.043012.7f3a';
    expect(uniqueReleaseId(generated, new Set([generated]))).toBe('20261130.043012.7f3a.2');
    expect(uniqueReleaseId(generated, new Set([generated]))).toMatch(RELEASE_ID);
  });
});
