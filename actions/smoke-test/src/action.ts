/**
 * smoke-test (first form): wait until every URL answers with an expected status, or the deadline passes.
 * The declaration below is the single source of the action's inputs and outputs.
 */
import {
  defineAction,
  defineActionRunner,
  formatDuration,
  InputError,
  parseStatusExpectation,
  waitForUrls,
} from '@kiln/core';

export const spec = defineAction({
  name: 'smoke-test',
  title: 'Kiln smoke-test',
  description:
    'Verify a deployment: poll one or more URLs until each answers with an expected status, within one deadline.',
  branding: { icon: 'check-circle', color: 'orange' },
  inputs: {
    url: {
      type: 'list',
      items: 'url',
      required: true,
      description: 'URL(s) to check, one per line or comma-separated. Every one must pass.',
    },
    'expect-status': {
      type: 'string',
      default: '200-299',
      placeholder: 'codes',
      description: 'Expected HTTP status: codes, ranges or classes, e.g. `200`, `200-299`, `2xx`, `200,301`.',
    },
    timeout: { type: 'duration', default: '10s', min: 1, description: 'Timeout of each request.' },
    deadline: {
      type: 'duration',
      default: '2m',
      min: 0,
      description: 'Overall deadline: keep retrying until every URL passes or this much time has passed.',
    },
    interval: { type: 'duration', default: '5s', min: 0, description: 'Pause between rounds of attempts.' },
    headers: {
      type: 'map',
      description: 'Extra request headers, one `Name=value` per line.',
    },
    'basic-auth': {
      type: 'string',
      secret: true,
      placeholder: 'user:password',
      pattern: /^[^:]+:.*$/s,
      patternDescription: 'user:password',
      description: 'HTTP basic credentials as `user:password` (masked in every log and file).',
    },
    'bearer-token': {
      type: 'string',
      secret: true,
      description: 'Bearer token sent as `Authorization: Bearer <token>` (masked in every log and file).',
    },
    'follow-redirects': { type: 'boolean', default: 'false', description: 'Follow HTTP redirects.' },
    insecure: {
      type: 'boolean',
      default: 'false',
      description: 'Skip TLS certificate verification (self-signed test environments only).',
    },
  },
  outputs: {
    verdict: { description: '`pass` when every URL answered as expected before the deadline, else `fail`.' },
    attempts: { description: 'Requests made in total.' },
    'duration-ms': { description: 'Wall time of the whole check, in milliseconds.' },
    results: {
      description: 'JSON array, one object per URL: url, passed, attempts, status, latencyMs, reason.',
    },
  },
});

export const action = defineActionRunner({
  spec,
  async main({ inputs, log, signal, summary, setOutput, platform }) {
    const expect = parseStatusExpectation(inputs['expect-status']);
    if (typeof expect === 'string')
      throw new InputError('expect-status', `${JSON.stringify(inputs['expect-status'])}: ${expect}.`);
    if (inputs['basic-auth'] && inputs['bearer-token'])
      throw new InputError('bearer-token', 'cannot be combined with basic-auth; expected only one of them.');

    const headers: Record<string, string> = { ...inputs.headers };
    if (inputs['basic-auth']) {
      const encoded = Buffer.from(inputs['basic-auth']).toString('base64');
      platform.setSecret(encoded);
      headers.authorization = `Basic ${encoded}`;
    }
    if (inputs['bearer-token']) headers.authorization = `Bearer ${inputs['bearer-token']}`;
    if (inputs.insecure) log.warning('TLS certificate verification is off (insecure: true).');

    log.info(
      `Checking ${inputs.url.length} URL(s), expecting ${expect.text}; deadline ${formatDuration(inputs.deadline)}, ` +
        `request timeout ${formatDuration(inputs.timeout)}, interval ${formatDuration(inputs.interval)}.`,
    );
    const result = await waitForUrls({
      urls: inputs.url,
      expect,
      timeoutMs: inputs.timeout,
      deadlineMs: inputs.deadline,
      intervalMs: inputs.interval,
      headers,
      followRedirects: inputs['follow-redirects'],
      insecure: inputs.insecure,
      signal,
      log,
    });

    const verdict = result.passed ? 'pass' : 'fail';
    setOutput('verdict', verdict);
    setOutput('attempts', result.attempts);
    setOutput('duration-ms', Math.round(result.durationMs));
    setOutput(
      'results',
      JSON.stringify(
        result.results.map((r) => ({
          url: r.url,
          passed: r.passed,
          attempts: r.attempts,
          status: r.status ?? null,
          latencyMs: r.latencyMs === undefined ? null : Math.round(r.latencyMs),
          reason: r.reason ?? null,
        })),
      ),
    );

    summary.heading(`Smoke test: ${verdict === 'pass' ? '✅ pass' : '❌ fail'}`);
    summary.paragraph(
      `${result.results.filter((r) => r.passed).length}/${result.results.length} URL(s) passed in ` +
        `${formatDuration(result.durationMs)} with ${result.attempts} request(s); expected status ${expect.text}.`,
    );
    summary.table(
      ['URL', 'Result', 'Status', 'Latency', 'Attempts', 'Reason'],
      result.results.map((r) => [
        r.url,
        r.passed ? '✅ pass' : '❌ fail',
        r.status,
        r.latencyMs === undefined ? '' : formatDuration(r.latencyMs),
        r.attempts,
        r.reason ?? (r.passedAfterMs !== undefined ? `ready after ${formatDuration(r.passedAfterMs)}` : ''),
      ]),
    );

    if (!result.passed) {
      const failing = result.results.filter((r) => !r.passed);
      log.error(
        `Smoke test failed after ${formatDuration(result.durationMs)}: ` +
          failing.map((r) => `${r.url} (${r.reason ?? 'no answer'})`).join('; '),
      );
      return 1;
    }
    log.info(`Smoke test passed in ${formatDuration(result.durationMs)}.`);
    return 0;
  },
});
