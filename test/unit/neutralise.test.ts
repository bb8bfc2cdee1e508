/** neutralise(): the one place that makes outside text safe to print (platform/neutralise.ts). */
import { describe, expect, test } from '@jest/globals';
import { MAX_LINE, neutralise } from '../../packages/core/src/platform/neutralise.js';
import { parseWorkflowCommands } from '../harness/runner.js';

describe('neutralise', () => {
  test.each([
    ['::add-mask::x'],
    ['  ::stop-commands::tok'],
    ['\t::set-output name=a::b'],
    ['ok\n::error::forged'],
    ['ok\r\n::warning::forged'],
    ['##[set-output name=a;]b'],
    ['text ##[error]forged'],
  ])('%j cannot be read as a workflow command', (text) => {
    expect(parseWorkflowCommands(neutralise(text))).toEqual([]);
  });

  test('control characters are shown, not obeyed; tabs and line breaks stay', () => {
    expect(neutralise('\x1b[31mred\x1b[0m')).toBe('\\x1b[31mred\\x1b[0m');
    expect(neutralise('\x1b]0;title\x07')).toBe('\\x1b]0;title\\x07');
    expect(neutralise('a\rb')).toBe('a\\x0db');
    expect(neutralise('\x9b2J')).toBe('\\x9b2J');
    expect(neutralise('bidi \u202eexe')).toBe('bidi \\u{202e}exe');
    expect(neutralise('a\tb\nc')).toBe('a\tb\nc');
    expect(neutralise('plain text: ok, 100% :: fine')).toBe('plain text: ok, 100% :: fine');
  });

  test('a line longer than the cap is cut and says how much is missing', () => {
    const out = neutralise('x'.repeat(MAX_LINE + 500) + '\nnext');
    const [first, second] = out.split('\n');
    expect(first).toBe(`${'x'.repeat(MAX_LINE)}… (500 more characters not shown)`);
    expect(second).toBe('next');
  });
});
