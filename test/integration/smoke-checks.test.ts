/**
 * The smoke-test engine against real local HTTP and HTTPS servers: every kind of expectation passing and
 * failing, retries on assertion failures, the wait phase, the deadline, transport errors as errors,
 * thresholds, captures, command checks, and a JUnit report that validates against the shape GitLab reads.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { runPlan, type SmokeResult } from '../../packages/core/src/smoke/engine.js';
import { parsePlan, type PlanDefaults } from '../../packages/core/src/smoke/plan.js';
import { junitReport } from '../../packages/core/src/smoke/report.js';
import { parseStatusExpectation, type StatusExpectation } from '../../packages/core/src/smoke/status.js';
import { closedPort } from '../harness/http-fixture.js';
import { repoRoot } from '../harness/runner.js';
import { startSmokeService, type SmokeService } from '../harness/smoke-service.js';

let svc: SmokeService;
beforeAll(async () => {
  svc = await startSmokeService();
});
afterAll(async () => {
  await svc.close();
  await closeHttpPools();
});

const vars: Record<string, string> = {};
const defaults: PlanDefaults = {
  timeoutMs: 5000,
  expectStatus: parseStatusExpectation('200-299') as StatusExpectation,
  retryIntervalMs: 20,
  isDefined: (n) => n in vars || n === 'BASE',
};

async function run(
  yaml: string,
  opts: { deadlineMs?: number; concurrency?: number; signal?: AbortSignal } = {},
): Promise<SmokeResult & { log: string[] }> {
  const plan = parsePlan(
    yaml.replaceAll('BASE_HTTPS', svc.https).replaceAll('BASE_HTTP', svc.http),
    'checks.yml',
    defaults,
  );
  const log = new MemoryLogger();
  const r = await runPlan(plan, {
    concurrency: opts.concurrency ?? 8,
    deadlineMs: opts.deadlineMs ?? 20_000,
    vars: (n) => vars[n],
    log,
    signal: opts.signal,
  });
  return { ...r, log: log.lines };
}

const byName = (r: SmokeResult, name: string) => r.checks.find((c) => c.name === name);

describe('expectations over HTTP', () => {
  test('status, headers, body, JSONPath and duration all holding', async () => {
    const r = await run(`
defaults: { baseUrl: BASE_HTTP }
checks:
  - name: all
    url: /health
    expect:
      status: 200
      headers:
        content-type: { startsWith: application/json }
        x-version: "1.2.3"
        x-missing: { exists: false }
        date: { matches: "GMT$" }
      body: { contains: '"status":"UP"' }
      jsonpath:
        $.status: UP
        $.version: { matches: "^1\\\\." }
        $.items: { count: 3 }
        $.total: { gt: 40, lte: 42 }
        $.items[*]: { contains: 2 }
        $.nothing: { exists: false }
        "$['status']": { not: { equals: DOWN } }
      duration: { lt: 2s }
`);
    expect(byName(r, 'all')).toMatchObject({ verdict: 'pass', status: 200, attempts: 1, reason: undefined });
    expect(r.verdict).toBe('pass');
  });

  test.each([
    ['status', 'status: 201', 'status 200, expected 201'],
    ['header equals', 'headers: { x-version: "2.0.0" }', 'header x-version: expected "2.0.0", got "1.2.3"'],
    [
      'header contains',
      'headers: { content-type: { contains: xml } }',
      'header content-type: expected "application/json; charset=utf-8" to contain "xml"',
    ],
    [
      'header exists',
      'headers: { x-request-id: { exists: true } }',
      'header x-request-id: expected it to exist, found nothing',
    ],
    ['body contains', 'body: { contains: DOWN }', 'body: expected'],
    ['body matches', 'body: { matches: "^<html" }', 'to match /^<html/'],
    ['body equals', 'body: "UP"', 'body: expected "UP", got'],
    ['jsonpath equals', 'jsonpath: { $.status: DOWN }', '$.status: expected "DOWN", got "UP"'],
    [
      'jsonpath exists',
      'jsonpath: { $.build: { exists: true } }',
      '$.build: expected it to exist, found nothing',
    ],
    ['jsonpath count', 'jsonpath: { $.items: { count: 5 } }', '$.items: expected 5 item(s), got 3'],
    ['jsonpath numeric', 'jsonpath: { $.total: { lt: 10 } }', '$.total: expected < 10, got 42'],
    [
      'jsonpath not',
      'jsonpath: { $.status: { not: { equals: UP } } }',
      '$.status: expected not equals "UP", got "UP"',
    ],
  ])('%s failing is a fail with the reason', async (_n, expectation, reason) => {
    const r = await run(`checks:\n  - name: c\n    url: BASE_HTTP/health\n    expect: { ${expectation} }\n`);
    expect(r.verdict).toBe('fail');
    expect(byName(r, 'c')?.verdict).toBe('fail');
    expect(byName(r, 'c')?.reason).toContain(reason);
  });

  test('duration failing is a fail with the reason (a server that takes 60 ms, a 20 ms limit)', async () => {
    const r = await run(
      `checks:\n  - name: c\n    url: BASE_HTTP/slow?ms=60\n    expect: { duration: { lt: 20ms } }\n`,
    );
    expect(r.verdict).toBe('fail');
    expect(byName(r, 'c')?.reason).toContain('duration: expected < 20ms');
  });

  test('JSONPath on a body that is not JSON fails clearly', async () => {
    const r = await run(
      `checks:\n  - name: c\n    url: BASE_HTTP/text\n    expect: { jsonpath: { $.a: 1 } }\n`,
    );
    expect(byName(r, 'c')?.reason).toContain('$.a: the body is not JSON (plain text, not JSON)');
  });
});

describe('HTTPS and certificates', () => {
  test('certificate days remaining, with verification off for the self-signed test certificate', async () => {
    const r = await run(`
checks:
  - name: ok
    url: BASE_HTTPS/health
    insecure: true
    expect: { certificate: { daysRemaining: { gte: 28, lte: 30 } } }
  - name: too-soon
    url: BASE_HTTPS/health
    insecure: true
    expect: { certificate: { daysRemaining: 60 } }
`);
    expect(byName(r, 'ok')?.verdict).toBe('pass');
    expect(byName(r, 'too-soon')?.verdict).toBe('fail');
    expect(byName(r, 'too-soon')?.reason).toMatch(/certificate days remaining: expected >= 60, got (29|30)/);
  });
  test('an unverifiable certificate is an error, not a failure', async () => {
    const r = await run(`checks:\n  - name: c\n    url: BASE_HTTPS/health\n`);
    expect(r.verdict).toBe('error');
    expect(byName(r, 'c')?.verdict).toBe('error');
    expect(byName(r, 'c')?.reason).toMatch(/TLS error|self[- ]signed|certificate/i);
  });
});

describe('retries, wait, deadline, errors', () => {
  test('a failed assertion is retried (not only transport errors)', async () => {
    svc.counts.delete('/flaky-assert');
    const r = await run(
      `checks:\n  - name: c\n    url: BASE_HTTP/flaky-assert\n    retries: 3\n    expect: { jsonpath: { $.status: UP } }\n`,
    );
    expect(byName(r, 'c')).toMatchObject({ verdict: 'pass', attempts: 3 });
  });
  test('retries run out: the last attempt decides', async () => {
    svc.counts.delete('/flaky-assert');
    const r = await run(
      `checks:\n  - name: c\n    url: BASE_HTTP/flaky-assert\n    retries: 1\n    expect: { jsonpath: { $.status: UP } }\n`,
    );
    expect(byName(r, 'c')).toMatchObject({ verdict: 'fail', attempts: 2 });
  });
  test('the wait phase polls until the service is healthy, N passes in a row, then the checks run', async () => {
    svc.counts.delete('/flip');
    const r = await run(`
wait: { url: "BASE_HTTP/flip?after=2", interval: 20ms, deadline: 10s, successThreshold: 2, expect: { jsonpath: { $.status: UP } } }
checks:
  - url: BASE_HTTP/health
`);
    expect(r.verdict).toBe('pass');
    expect(r.wait).toMatchObject({ passed: true, attempts: 4 });
  });
  test('a wait phase that never passes fails, and the checks are skipped', async () => {
    const r = await run(`
wait: { url: "BASE_HTTP/flip?after=100000", interval: 20ms, deadline: 200ms }
checks:
  - name: c
    url: BASE_HTTP/health
`);
    expect(r.verdict).toBe('fail');
    expect(r.reason).toMatch(/never became ready: not ready after .*status 503/);
    expect(byName(r, 'c')).toMatchObject({ verdict: 'skipped', attempts: 0 });
  });
  test('transport errors are errors, not failures', async () => {
    const port = await closedPort();
    const r = await run(
      `checks:\n  - name: refused\n    url: http://127.0.0.1:${port}/\n  - name: fine\n    url: BASE_HTTP/health\n`,
    );
    expect(r.verdict).toBe('error');
    expect(r).toMatchObject({ passed: 1, failed: 0, errors: 1 });
    expect(byName(r, 'refused')?.reason).toContain('connection refused');
  });
  test('a timeout is an error', async () => {
    const r = await run(`checks:\n  - name: c\n    url: BASE_HTTP/hang\n    timeout: 200ms\n`);
    expect(byName(r, 'c')).toMatchObject({ verdict: 'error' });
    expect(byName(r, 'c')?.reason).toMatch(/no answer from .* within 200ms/);
  });
  test('the deadline stops retries: no attempt starts after it', async () => {
    const t0 = Date.now();
    const r = await run(
      `checks:\n  - name: c\n    url: BASE_HTTP/flip?after=100000\n    retries: 100\n    retryInterval: 50ms\n`,
      { deadlineMs: 300 },
    );
    expect(r.verdict).toBe('fail');
    expect(byName(r, 'c')!.attempts).toBeLessThan(100);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
  test('failureLimit must be exceeded to fail', async () => {
    const r = await run(
      `checks:\n  - url: BASE_HTTP/health\n  - url: BASE_HTTP/missing\nverdict: { failureLimit: 1 }\n`,
    );
    expect(r).toMatchObject({ verdict: 'pass', failed: 1 });
  });
});

describe('captures, commands, thresholds', () => {
  test('captures flow into later checks; a missing capture skips its users', async () => {
    const r = await run(`
checks:
  - name: create
    url: BASE_HTTP/orders
    json: { item: "\${ITEM:-book}" }
    expect: { status: 201, jsonpath: { $.item: book } }
    captures:
      id: { jsonpath: $.id }
      where: { header: location }
  - name: read
    url: BASE_HTTP\${where}
    expect: { jsonpath: { $.id: "\${id}" } }
  - name: broken
    url: BASE_HTTP/health
    captures: { missing: { jsonpath: $.nope } }
  - name: needs-missing
    url: BASE_HTTP/orders/\${missing}
`);
    expect(byName(r, 'create')?.verdict).toBe('pass');
    expect(byName(r, 'read')).toMatchObject({ verdict: 'pass', url: `${svc.http}/orders/77` });
    expect(byName(r, 'broken')).toMatchObject({
      verdict: 'fail',
      reason: 'capture missing: nothing matched',
    });
    expect(byName(r, 'needs-missing')).toMatchObject({ verdict: 'skipped' });
    expect(byName(r, 'needs-missing')?.reason).toContain("needs ${missing} from 'broken'");
  });

  test('command checks: exit codes, stdout, missing programs, timeouts, captures', async () => {
    const node = JSON.stringify(process.execPath);
    const r = await run(`
checks:
  - name: ok
    command: [${node}, -e, "console.log('version=1.2.3')"]
    expect: { stdout: { contains: "version=1.2.3" } }
    captures: { v: { regex: "version=(\\\\S+)" } }
  - name: uses
    command: [${node}, -e, "process.exit(process.argv[1] === '1.2.3' ? 0 : 1)", "\${v}"]
  - name: exit3
    command: [${node}, -e, "console.error('suite failed'); process.exit(3)"]
  - name: missing
    command: [kiln-no-such-program]
  - name: slow
    command: [${node}, -e, "setTimeout(() => {}, 10000)"]
    timeout: 200ms
`);
    expect(byName(r, 'ok')?.verdict).toBe('pass');
    expect(byName(r, 'uses')?.verdict).toBe('pass');
    expect(byName(r, 'exit3')).toMatchObject({
      verdict: 'fail',
      exitCode: 3,
      reason: 'exit code 3, expected 0',
    });
    expect(byName(r, 'exit3')?.output).toContain('suite failed');
    expect(byName(r, 'missing')).toMatchObject({ verdict: 'error' });
    expect(byName(r, 'missing')?.reason).toContain("'kiln-no-such-program' was not found on PATH");
    expect(byName(r, 'slow')).toMatchObject({ verdict: 'error', reason: 'timed out after 200ms' });
  });

  test('thresholds over a sample: passing and crossed', async () => {
    const r = await run(`
checks:
  - name: h
    url: BASE_HTTP/slow?ms=5
sample: { iterations: 20, concurrency: 4 }
thresholds:
  http_req_duration: ["p(95)<5000", "max<3"]
  http_req_failed: ["rate<0.01"]
  checks: ["rate==1"]
`);
    expect(r.requests).toBe(21);
    expect(r.thresholds.map((t) => [t.expression, t.passed])).toEqual([
      ['p(95)<5000', true],
      ['max<3', false], // every response takes at least 5 ms
      ['rate<0.01', true],
      ['rate==1', true],
    ]);
    expect(r.verdict).toBe('fail');
    expect(r.reason).toContain('threshold(s) crossed: http_req_duration max<3');
    expect(r.latency.count).toBe(21);
  });

  test('checks run concurrently, bounded', async () => {
    const t0 = Date.now();
    const checks = Array.from(
      { length: 8 },
      (_, i) => `  - name: s${i}\n    url: BASE_HTTP/slow?ms=300`,
    ).join('\n');
    const r = await run(`checks:\n${checks}\n`, { concurrency: 8 });
    expect(r.verdict).toBe('pass');
    // Eight 300 ms requests at once take about one of them, far from eight in a row.
    expect(Date.now() - t0).toBeLessThan(8 * 300);
  });

  test('cancellation reports what finished', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const r = await run(
      `checks:\n  - name: quick\n    url: BASE_HTTP/health\n  - name: stuck\n    url: BASE_HTTP/hang\n    timeout: 30s\n`,
      { signal: ac.signal },
    );
    expect(r.cancelled).toBe(true);
    expect(r.verdict).toBe('error');
    expect(byName(r, 'quick')?.verdict).toBe('pass');
    expect(byName(r, 'stuck')?.verdict).toBe('cancelled');
  });
});

describe('JUnit', () => {
  test('one testcase per check with failure/error/skipped, valid against the shape GitLab reads', async () => {
    const port = await closedPort();
    const r = await run(`
checks:
  - name: ok
    url: BASE_HTTP/health
  - name: "bad <&> \\"name\\""
    url: BASE_HTTP/missing
  - name: down
    url: http://127.0.0.1:${port}/
  - name: c
    url: BASE_HTTP/health
    captures: { x: { jsonpath: $.nope } }
  - name: skipped
    url: BASE_HTTP/\${x}
  - name: ok
    url: BASE_HTTP/health
thresholds:
  http_req_duration: ["p(95)<10000"]
`);
    const xml = junitReport(r);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-junit-'));
    writeFileSync(join(dir, 'junit.xml'), xml);
    execFileSync(
      'xmllint',
      ['--noout', '--schema', join(repoRoot, 'test/fixtures/junit-gitlab.xsd'), join(dir, 'junit.xml')],
      { stdio: 'pipe' },
    );
    expect(xml).toContain('<testsuites name="kiln smoke-test" tests="7" failures="2" errors="1" skipped="1"');
    expect(xml).toMatch(/<testcase classname="smoke-test" name="ok" time="[\d.]+"\/>/);
    expect(xml).toMatch(/<testcase classname="smoke-test" name="ok \(2\)"/);
    expect(xml).toContain('name="bad &lt;&amp;&gt; &quot;name&quot;"');
    expect(xml).toMatch(/<failure message="status 404, expected 200-299" type="AssertionFailed">/);
    expect(xml).toMatch(/<error message="connection refused by 127\.0\.0\.1:\d+" type="NoAnswer">/);
    expect(xml).toContain('<skipped message=');
    const names = [...xml.matchAll(/<testcase classname="smoke-test" name="([^"]*)"/g)].map((m) => m[1]);
    expect(new Set(names).size).toBe(names.length);
  });
});
