/** The runner-contract harness itself: state handed from main to post, file-command grammar, unknown inputs. */
import { describe, expect, test } from '@jest/globals';
import { parseFileCommands, runBundle } from '../harness/runner.js';

describe('runner-contract harness', () => {
  test('state saved by main reaches post as STATE_<name>', async () => {
    const main = await runBundle('test/fixtures/actions/stateful', { with: { value: 'line one\nline two' } });
    expect(main.exitCode).toBe(0);
    expect(main.outputs.get('phase')).toBe('main');
    expect(main.state.get('saved')).toBe('line one\nline two');
    const post = await runBundle('test/fixtures/actions/stateful', {
      with: { value: 'x' },
      post: { state: main.state },
    });
    expect(post.outputs.get('phase')).toBe('post');
    expect(post.outputs.get('seen')).toBe(JSON.stringify('line one\nline two'));
  });
  test('unknown inputs only warn, as on the runner', async () => {
    const r = await runBundle('test/fixtures/actions/stateful', { with: { value: 'v', nope: '1' } });
    expect(r.exitCode).toBe(0);
    expect(r.runnerWarnings).toEqual(["Unexpected input(s) 'nope'"]);
  });
  test('the file-command grammar: K=V, heredocs, and what the runner rejects', () => {
    expect(Object.fromEntries(parseFileCommands('a=1=2\nb<<EOF\nx\ny\nEOF\n\nc='))).toEqual({
      a: '1=2',
      b: 'x\ny',
      c: '',
    });
    expect(() => parseFileCommands('k<<EOF\nno end')).toThrow('Matching delimiter not found');
    expect(() => parseFileCommands('=v')).toThrow('Name must not be empty');
    expect(() => parseFileCommands('novalue')).toThrow('Invalid format');
  });
});
