/**
 * Read at a glance: every job summary fits GitHub's summary pane (900 px) and says first what happened; the
 * terminal views fit the terminal. The summaries are rendered from the fixtures the pictures use
 * (test/fixtures/summaries.ts), plus hostile variants: 50 checks, very long check names and URLs, 20 destinations
 * with long names, long (sha512) digests, five clusters with the longest names Marathon allows.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { spec as deploySpec } from '../../actions/deploy-marathon/src/action.js';
import { spec as promoteSpec } from '../../actions/promote/src/action.js';
import { spec as pushSpec } from '../../actions/push-registry/src/action.js';
import { spec as smokeSpec } from '../../actions/smoke-test/src/action.js';
import { terminalTable } from '../../packages/core/src/action/smoke.js';
import { actionHelp } from '../../packages/core/src/inputs/help.js';
import type { ActionSpec } from '../../packages/core/src/inputs/spec.js';
import { terminalWidth } from '../../packages/core/src/platform/base.js';
import { displayWidth, stripAnsi } from '../../packages/core/src/platform/summary.js';
import {
  renderSummary,
  smokeFail,
  smokeMany,
  smokePass,
  SUMMARY_KINDS,
  type HostileKind,
  type SummaryKind,
} from '../fixtures/summaries.js';

/** GitHub's job summary pane, and how this test estimates a table in it. */
const PANE_PX = 900;
const CHAR_PX = 8;
const CELL_PADDING_PX = 26;
const MAX_COLUMNS = 5;

/** A markdown table's cells as GitHub shows their text: escapes undone, entities decoded. */
function cellText(raw: string): string {
  return raw
    .trim()
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** Split a table row on the pipes that are not escaped. */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map(cellText);
}

/** Every table of a markdown text: header and rows, as text. */
export function markdownTables(md: string): string[][][] {
  const tables: string[][][] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]?.startsWith('|') || !/^\|( ?:?-+:? ?\|)+$/.test(lines[i + 1]?.trim() ?? '')) continue;
    const table = [cells(lines[i] as string)];
    let j = i + 2;
    for (; j < lines.length && lines[j]?.startsWith('|'); j++) table.push(cells(lines[j] as string));
    tables.push(table);
    i = j - 1;
  }
  return tables;
}

/**
 * The width a table takes at least: per column, its longest unbreakable run (text wraps between words; a digest
 * or URL has no spaces, so it counts whole) × 8 px + 26 px of padding and border.
 */
function estimatedWidth(table: string[][]): { px: number; columns: string[] } {
  const columns = (table[0] ?? []).map((_, i) => {
    const words = table.flatMap((r) => (r[i] ?? '').split(/\s+/));
    return words.reduce((a, w) => ([...w].length > [...a].length ? w : a), '');
  });
  const px = columns.reduce((n, w) => n + [...w].length * CHAR_PX + CELL_PADDING_PX, 0);
  return { px, columns };
}

const KINDS = Object.keys(SUMMARY_KINDS) as SummaryKind[];
const HOSTILE: HostileKind[] = ['smoke-many', 'push-many', 'deploy-marathon-many'];

describe.each([...KINDS, ...HOSTILE])('the %s summary', (kind) => {
  const md = renderSummary(kind).toMarkdown();
  const tables = markdownTables(md);

  test('has tables, each of at most five columns, every row as wide as its header', () => {
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      expect((t[0] ?? []).length).toBeLessThanOrEqual(MAX_COLUMNS);
      for (const row of t) expect(row).toHaveLength((t[0] ?? []).length);
    }
  });

  test('every table fits the 900 px pane (longest word × 8 px + 26 px per column)', () => {
    for (const t of tables) {
      const { px, columns } = estimatedWidth(t);
      if (px > PANE_PX)
        throw new Error(`${px} px > ${PANE_PX} px; longest words: ${JSON.stringify(columns)}`);
    }
  });

  test('no table cell holds a whole digest (they are shortened, the full value is in a details block)', () => {
    for (const t of tables)
      for (const row of t) for (const c of row) expect(c).not.toMatch(/(sha256|sha512):[0-9a-f]{32,}/);
  });

  test('the first line says what happened, after ✅, ❌, ⚠️ or 🔍', () => {
    const first = (md.split('\n').find((l) => l.trim() !== '') ?? '').replace(/^#+\s+/, '');
    expect(first).toMatch(/^(✅|❌|⚠️|🔍) \p{L}+.*\S/u);
  });

  test('a digest or name shortened in a table appears whole below it', () => {
    const shortened = [...md.matchAll(/\b(sha256|sha512):([0-9a-f]{12})\b(?![0-9a-f])/g)].map((m) => m[2]);
    for (const prefix of shortened) expect(md).toMatch(new RegExp(`${prefix}[0-9a-f]{52,}`));
  });
});

describe('the first lines', () => {
  const first = (kind: SummaryKind): string => renderSummary(kind).toMarkdown().split('\n')[0] as string;
  test.each<[SummaryKind, RegExp]>([
    ['smoke-pass', /^## ✅ smoke test passed: 6 checks in 3\.21s$/],
    ['smoke-fail', /^## ❌ smoke test failed: health: expected status 200, got 503 \(and 1 more\)$/],
    ['deploy-marathon-deployed', /^## ✅ deployed release 42 to AA, BB in 1m20s$/],
    [
      'deploy-marathon-rolled-back',
      /^## ❌ rolled back: crash loop — TASK\\_FAILED: Exit code 1: java\.lang\.IllegalStateException: no profile qa$/,
    ],
    ['promote', /^## ✅ promoted sha256:[0-9a-f]{12} to 2 targets; 0 B uploaded$/],
    [
      'deploy-k8s-rolled-back',
      /^## ❌ rolled back: Deployment\/shop-api — pod shop-api-\S+: CrashLoopBackOff \(exit 1: config missing/,
    ],
    [
      'bake-image',
      /^## ✅ baked sha256:[0-9a-f]{12} with layer-append \(linux\/amd64, linux\/arm64\) in 1\.87s; verify passed; pushed 4 tags$/,
    ],
    [
      'push-registry',
      /^## ✅ pushed sha256:[0-9a-f]{12} to 4 destinations \(3 written, 1 already there\); 92\.7 MiB uploaded$/,
    ],
  ])('%s', (kind, line) => {
    expect(first(kind)).toMatch(line);
  });
});

describe('the terminal', () => {
  const saved = process.env.COLUMNS;
  beforeEach(() => {
    delete process.env.COLUMNS;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = saved;
  });

  const tooWide = (text: string, width: number): string[] =>
    text.split('\n').filter((l) => displayWidth(stripAnsi(l)) > width);

  test('width: COLUMNS when a positive integer, else the TTY’s columns, else 100', () => {
    expect(terminalWidth({ COLUMNS: '80' }, { isTTY: true, columns: 120 })).toBe(80);
    expect(terminalWidth({ COLUMNS: '0' }, { isTTY: true, columns: 120 })).toBe(120);
    expect(terminalWidth({ COLUMNS: 'wide' }, { isTTY: false })).toBe(100);
    expect(terminalWidth({}, { isTTY: false, columns: 300 })).toBe(100);
    expect(terminalWidth({}, {})).toBe(100);
    process.env.COLUMNS = '80';
    expect(terminalWidth()).toBe(80);
  });

  test.each([
    ['COLUMNS=80', '80', 80],
    ['no TTY, no COLUMNS', undefined, 100],
  ])('%s: no line of the smoke table or of --help is wider', (_label, columns, width) => {
    if (columns !== undefined) process.env.COLUMNS = columns;
    const w = terminalWidth(process.env, { isTTY: false });
    expect(w).toBe(width);
    for (const r of [smokePass(), smokeFail(), smokeMany()])
      for (const color of [false, true]) expect(tooWide(terminalTable(r, color, w), w)).toEqual([]);
    for (const spec of [smokeSpec, deploySpec, pushSpec, promoteSpec]) {
      const help = actionHelp(spec as unknown as ActionSpec, w);
      expect(tooWide(help, w)).toEqual([]);
      expect(help).toContain(`kiln ${spec.name}`);
    }
  });

  test('--help takes its width from COLUMNS by default', () => {
    process.env.COLUMNS = '60';
    expect(tooWide(actionHelp(smokeSpec as unknown as ActionSpec), 60)).toEqual([]);
  });

  test('a failed check shows its response excerpt, a long name whole (wrapped, never cut)', () => {
    const table = terminalTable(smokeFail(), false, 80);
    expect(table).toContain('│ {"status":"DOWN"');
    expect(table).toContain('expected status 200, got 503');
    // The name wraps beside its status and latency: take those out and join the pieces again.
    const many = terminalTable(smokeMany(), false, 80)
      .replace(/200, 42ms/g, '')
      .replace(/\s+/g, '');
    expect(many).toContain(
      'https://api.example.com/v1/this/is/an/extremely/long/path/without/any/spaces/at/all/that/keeps/going/and/going',
    );
  });

  test('the summary as text (GitLab, a terminal) fits the width, tables wrapped, not cut', () => {
    for (const kind of [
      'smoke-pass',
      'smoke-fail',
      'smoke-many',
      'promote',
      'push-registry',
      'push-many',
    ] as const) {
      const text = renderSummary(kind).toText(undefined, 80);
      expect(tooWide(text, 80)).toEqual([]);
    }
  });
});
