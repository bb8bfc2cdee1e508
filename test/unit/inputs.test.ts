import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, InputError } from '../../packages/core/src/errors.js';
import { parseFlags } from '../../packages/core/src/inputs/flags.js';
import { parseInputs, parseInputValue } from '../../packages/core/src/inputs/parse.js';
import { defineAction, type InputDecl } from '../../packages/core/src/inputs/spec.js';
import { formatDuration, parseDuration } from '../../packages/core/src/util/duration.js';

function err(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('durations', () => {
  test.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1h30m15s', 5_415_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['30', 30_000],
    [' 10s ', 10_000],
    ['1M', 60_000],
  ])('%s → %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  test.each(['', 'abc', '10x', 's', '5m-1s', '1h 30m', '-5s', '1e3'])('%j is not a duration', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
  test.each([
    [850, '850ms'],
    [12_340, '12.3s'],
    [245_000, '4m05s'],
    [3_720_000, '1h02m'],
  ])('formats %d as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('typed inputs', () => {
  const ok: Array<[string, InputDecl, string, unknown]> = [
    ['string', { type: 'string', description: '' }, ' hi ', 'hi'],
    ['boolean true', { type: 'boolean', description: '' }, 'true', true],
    ['boolean False', { type: 'boolean', description: '' }, 'False', false],
    ['integer', { type: 'integer', description: '', min: 1, max: 10 }, '7', 7],
    ['duration', { type: 'duration', description: '' }, '1h30m', 5_400_000],
    ['list lines+commas', { type: 'list', description: '' }, 'a, b\nc\n\n d ', ['a', 'b', 'c', 'd']],
    ['list lines only', { type: 'list', description: '', commas: false }, 'a,b\nc', ['a,b', 'c']],
    ['enum', { type: 'enum', description: '', values: ['auto', 'none'] }, 'none', 'none'],
    ['map', { type: 'map', description: '' }, 'A=1\nB = x=y\n', { A: '1', B: 'x=y' }],
    ['url', { type: 'url', description: '' }, 'https://example.com/x', 'https://example.com/x'],
    [
      'list of urls',
      { type: 'list', items: 'url', description: '' },
      'http://a/,https://b/',
      ['http://a/', 'https://b/'],
    ],
    [
      "list of urls, url-health-check-action's a|b form",
      { type: 'list', items: 'url', description: '' },
      'https://a.example/health|https://b.example/health\nhttp://c/',
      ['https://a.example/health', 'https://b.example/health', 'http://c/'],
    ],
  ];
  test.each(ok)('%s', (_n, decl, raw, value) => expect(parseInputValue('x', decl, raw)).toEqual(value));

  const bad: Array<[string, InputDecl, string, RegExp]> = [
    [
      'boolean yes',
      { type: 'boolean', description: '' },
      'yes',
      /"yes" is not a boolean; expected true or false/,
    ],
    ['boolean 1', { type: 'boolean', description: '' }, '1', /expected true or false/],
    ['integer text', { type: 'integer', description: '' }, '7a', /"7a" is not an integer/],
    ['integer float', { type: 'integer', description: '' }, '1.5', /not an integer/],
    [
      'integer range',
      { type: 'integer', description: '', min: 1, max: 10 },
      '11',
      /out of range; expected integer 1\.\.10/,
    ],
    [
      'duration',
      { type: 'duration', description: '' },
      'abc',
      /"abc" is not a duration; expected e\.g\. 500ms/,
    ],
    ['duration min', { type: 'duration', description: '', min: 1000 }, '10ms', /too short/],
    [
      'enum',
      { type: 'enum', description: '', values: ['auto', 'none'] },
      'off',
      /expected one of: auto, none/,
    ],
    ['map', { type: 'map', description: '' }, 'novalue', /"novalue" is not a key=value pair/],
    ['map empty key', { type: 'map', description: '' }, '=v', /not a key=value pair/],
    [
      'url scheme',
      { type: 'url', description: '' },
      'ftp://x/',
      /uses ftp:; expected an http:\/\/ or https:\/\/ URL/,
    ],
    ['url garbage', { type: 'url', description: '' }, 'not a url', /"not a url" is not a valid URL/],
    [
      'list item url',
      { type: 'list', items: 'url', description: '' },
      'http://ok/\nfile:///etc/passwd',
      /file:/,
    ],
    ['path', { type: 'path', description: '' }, 'does/not/exist', /"does\/not\/exist" does not exist/],
    [
      'pattern',
      { type: 'string', description: '', pattern: /^\d+$/, patternDescription: 'digits' },
      'x',
      /expected digits/,
    ],
  ];
  test.each(bad)('%s is rejected, naming the input and the value', (_n, decl, raw, message) => {
    const e = err(() => parseInputValue('my-input', decl, raw));
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.input).toBe('my-input');
    expect(e.message).toMatch(/^Input 'my-input': /);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  });

  test('a secret value never appears in the error', () => {
    const e = err(() =>
      parseInputValue('token', { type: 'integer', description: '', secret: true }, 'hunter2'),
    );
    expect(e.message).not.toContain('hunter2');
    expect(e.message).toContain('secret');
  });

  test('paths resolve against the workspace and must exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-path-'));
    writeFileSync(join(dir, 'checks.yml'), '');
    expect(parseInputValue('checks', { type: 'path', description: '' }, 'checks.yml', { cwd: dir })).toBe(
      join(dir, 'checks.yml'),
    );
  });
});

describe('parseInputs', () => {
  const spec = defineAction({
    name: 't',
    title: 't',
    description: 't',
    inputs: {
      url: { type: 'url', required: true, description: '' },
      retries: { type: 'integer', default: '3', description: '' },
      tags: { type: 'list', description: '' },
      dry: { type: 'boolean', default: 'false', description: '' },
      note: { type: 'string', description: '' },
    },
    outputs: {},
  });
  test('defaults apply to missing and empty values; absent lists are empty', () => {
    const v = parseInputs(spec.inputs, (n) => ({ url: 'http://x/', retries: '' })[n]);
    expect(v).toEqual({ url: 'http://x/', retries: 3, tags: [], dry: false, note: undefined });
  });
  test('a missing required input is named', () => {
    expect(() => parseInputs(spec.inputs, () => undefined)).toThrow(
      "Input 'url': is required; expected URL.",
    );
  });
});

describe('command-line flags', () => {
  const spec = defineAction({
    name: 'demo',
    title: 'demo',
    description: 'd',
    inputs: {
      url: { type: 'list', description: '' },
      'dry-run': { type: 'boolean', default: 'false', description: '' },
      timeout: { type: 'duration', description: '' },
    },
    outputs: {},
  });
  test('--name value, --name=value, repeated lists, bare booleans, --json', () => {
    const p = parseFlags(['--url', 'a', '--url=b', '--dry-run', '--timeout', '5s', '--json'], spec);
    expect(Object.fromEntries(p.flags)).toEqual({ url: ['a', 'b'], 'dry-run': ['true'], timeout: ['5s'] });
    expect(p.json).toBe(true);
  });
  test('boolean with explicit value', () => {
    expect(parseFlags(['--dry-run', 'false'], spec).flags.get('dry-run')).toEqual(['false']);
  });
  test.each([
    [['--nope', 'x'], /Unknown option '--nope' for kiln demo; run 'kiln demo --help'/],
    [['--timeout'], /Option '--timeout' needs a value/],
    [['--timeout', '--url'], /needs a value/],
    [['stray'], /Unexpected argument 'stray'/],
  ])('%j is an error', (argv, message) => expect(() => parseFlags(argv, spec)).toThrow(message));
});
