/** The app-definition JSON reader: exact numbers, line/column errors, round trips. */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cloneJson,
  JsonNumber,
  JsonSyntaxError,
  jsonEqual,
  parseJson,
  stringifyJson,
  type JsonObject,
} from '../../packages/core/src/util/json.js';
import { repoRoot } from '../harness/runner.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed: ${text}`);
}

describe('syntax errors carry line and column', () => {
  test.each([
    ['{\n  "id": "/x",\n  "cpus": 1,\n}', "trailing comma before '}'", 4, 1],
    ['{\n  "id": "/x"\n  "cpus": 1\n}', "unexpected '\"'; expected ',' or '}'", 3, 3],
    ['{"args": ["a", ]}', "trailing comma before ']'", 1, 16],
    ['{"id": \'/x\'}', 'strings must use double quotes (")', 1, 8],
    ['{\n  // a comment\n  "id": "/x"\n}', 'comments are not allowed in JSON', 2, 3],
    ['{"id": "/x"', "unexpected end of file; expected ',' or '}'", 1, 12],
    ['{"id": "/x', 'unterminated string (missing closing ")', 1, 8],
    ['{"n": 01}', 'invalid number', 1, 7],
    ['{"n": -}', 'invalid number', 1, 7],
    ['{"a": tru}', "unexpected 't'; expected a value", 1, 7],
    ['{"a": "x\\q"}', "invalid escape '\\q' in string", 1, 9],
    ['{"a": 1} {"b": 2}', "unexpected '{' after the end of the JSON value", 1, 10],
    ['', 'the file is empty; expected a JSON object', 1, 1],
    ['{id: 1}', "unexpected 'i'; expected a property name in double quotes", 1, 2],
  ])('%j → %s at %i:%i', (text, reason, line, column) => {
    const e = syntaxError(text);
    expect({ reason: e.reason, line: e.line, column: e.column }).toEqual({ reason, line, column });
    expect(e.message).toBe(`${reason} at line ${line}, column ${column}`);
  });
});

describe('values', () => {
  test('numbers a double holds exactly are plain numbers; 2048.0 is 2048', () => {
    expect(parseJson('[2048.0, 0.1, -3, 1e3, 2.5E-3, 0, -0, 1e21]')).toEqual([
      2048, 0.1, -3, 1000, 0.0025, 0, -0, 1e21,
    ]);
  });

  test('numbers a double would change are kept as written and written back verbatim', () => {
    const text =
      '{"big":12345678901234567890123,"exact":9007199254740993,"huge":1E+400,"tiny":1e-400,"long":0.1000000000000000055511151231257827021181583404541015625001}';
    const v = parseJson(text) as JsonObject;
    expect(v['big']).toEqual(new JsonNumber('12345678901234567890123'));
    expect(v['exact']).toEqual(new JsonNumber('9007199254740993'));
    expect(v['huge']).toEqual(new JsonNumber('1E+400'));
    expect(v['tiny']).toEqual(new JsonNumber('1e-400'));
    expect(stringifyJson(v, 0)).toBe(text);
  });

  test('strings: escapes, unicode, surrogate pairs', () => {
    const text = String.raw`["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u4e2d\ud83d\ude80", "tab	not allowed"]`;
    expect(() => parseJson(text)).toThrow('unescaped control character in string');
    expect(parseJson(String.raw`["a\"b\\c\/d\n", "\u00e9\u4e2d\ud83d\ude80"]`)).toEqual([
      'a"b\\c/d\n',
      'é中🚀',
    ]);
  });

  test('__proto__ is an ordinary key; duplicates are reported and the last wins', () => {
    const dups: string[] = [];
    const v = parseJson('{"__proto__": {"polluted": true}, "a": 1,\n "a": 2}', {
      onDuplicateKey: (k, line, col) => dups.push(`${k}@${line}:${col}`),
    }) as JsonObject;
    expect(Object.keys(v)).toEqual(['__proto__', 'a']);
    expect(v['a']).toBe(2);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(dups).toEqual(['a@2:2']);
    expect(stringifyJson(cloneJson(v), 0)).toBe('{"__proto__":{"polluted":true},"a":2}');
  });

  test('a BOM is ignored; whitespace around the value is fine', () => {
    expect(parseJson('\ufeff \n {"id": "/x"} \n')).toEqual({ id: '/x' });
  });
});

describe('round trips', () => {
  const text = readFileSync(join(repoRoot, 'test/fixtures/marathon/large-app.json'), 'utf8');

  test('the large fixture: parse → stringify → parse is equal in meaning, key order kept', () => {
    const v = parseJson(text);
    const again = parseJson(stringifyJson(v));
    expect(jsonEqual(v, again)).toBe(true);
    expect(stringifyJson(again)).toBe(stringifyJson(v));
    // Agrees with JSON.parse wherever a double is exact.
    expect(JSON.parse(stringifyJson(v))['container']).toEqual(JSON.parse(text)['container']);
  });

  test('jsonEqual: numbers by value, objects without order, arrays in order', () => {
    expect(jsonEqual(parseJson('{"a": 2048.0, "b": [1, 2]}'), parseJson('{"b": [1, 2], "a": 2048}'))).toBe(
      true,
    );
    expect(jsonEqual(parseJson('[1, 2]'), parseJson('[2, 1]'))).toBe(false);
    expect(jsonEqual(parseJson('12345678901234567890123'), parseJson('12345678901234567890124'))).toBe(false);
    expect(jsonEqual(parseJson('1.0e3'), 1000)).toBe(true);
    expect(jsonEqual(parseJson('{"a": null}'), parseJson('{}'))).toBe(false);
    expect(jsonEqual(parseJson('"1"'), 1)).toBe(false);
  });
});
