/**
 * Checks files: the valid forms normalise as documented, and every malformed one is refused before anything
 * runs with one message that gives the file, the line and column, the path in the file and what is expected.
 */
import { describe, expect, test } from '@jest/globals';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import { parsePlan, type PlanDefaults } from '../../packages/core/src/smoke/plan.js';
import { parseStatusExpectation, type StatusExpectation } from '../../packages/core/src/smoke/status.js';

const defaults: PlanDefaults = {
  timeoutMs: 10_000,
  expectStatus: parseStatusExpectation('200-299') as StatusExpectation,
  retryIntervalMs: 5000,
  isDefined: (n) => ['TOKEN', 'ENV'].includes(n),
};

function refuse(text: string, file = 'checks.yml'): string {
  try {
    parsePlan(text, file, defaults);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return (e as Error).message;
  }
  throw new Error('expected the checks file to be refused');
}

describe('valid checks files', () => {
  test('the minimal form from the README', () => {
    const p = parsePlan(
      'checks:\n  - url: https://qa.example.com/health_check\n    expect: { status: 200 }\n',
      'c.yml',
      defaults,
    );
    expect(p.checks).toHaveLength(1);
    expect(p.checks[0]).toMatchObject({
      name: 'GET https://qa.example.com/health_check',
      kind: 'http',
      retries: 0,
    });
    expect(p.checks[0]?.expect.status?.matches(200)).toBe(true);
    expect(p.checks[0]?.expect.status?.matches(204)).toBe(false);
  });
  test('defaults, shorthands, unique names, captures and dependencies', () => {
    const p = parsePlan(
      `
defaults:
  baseUrl: https://qa.example.com/api
  timeout: 3s
  headers: { Authorization: "Bearer \${TOKEN}" }
  retries: 2
  retryInterval: 500ms
wait:
  url: /version
  expect: { jsonpath: { "$.version": "1.2.3" } }
  deadline: 2m
  successThreshold: 2
checks:
  - url: /health
  - url: /health
  - name: create
    method: post
    url: /orders
    json: { item: 1 }
    expect:
      status: [201, "2xx"]
      headers: { content-type: json }
      jsonpath: [{ path: "$.id", exists: true }]
    captures: { orderId: { jsonpath: "$.id" } }
  - name: read
    url: /orders/\${orderId}
    retries: 0
  - name: suite
    command: [npm, test]
    timeout: 10m
    expect: { exitCode: 0 }
sample: { iterations: 10, concurrency: 2 }
thresholds:
  http_req_duration: ["p(95)<500"]
  http_req_failed: ["rate<0.01"]
verdict: { failureLimit: 1 }
`,
      'c.yml',
      defaults,
    );
    expect(p.checks.map((c) => c.name)).toEqual([
      'GET /health',
      'GET /health (2)',
      'create',
      'read',
      'suite',
    ]);
    expect(p.checks[0]).toMatchObject({ retries: 2, retryIntervalMs: 500 });
    expect(p.checks[0]?.request).toMatchObject({
      timeoutMs: 3000,
      headers: { Authorization: 'Bearer ${TOKEN}' },
    });
    expect(p.checks[2]?.request?.method).toBe('POST');
    expect(p.checks[2]?.expect.headers).toEqual([{ name: 'content-type', predicate: { equals: 'json' } }]);
    expect(p.checks[3]).toMatchObject({ uses: ['orderId'], retries: 0 });
    expect(p.checks[4]).toMatchObject({
      kind: 'command',
      commandTimeoutMs: 600_000,
      expect: { exitCode: 0 },
    });
    expect(p.wait).toMatchObject({ deadlineMs: 120_000, successThreshold: 2 });
    expect(p.wait?.expect.jsonpath).toEqual([{ path: '$.version', predicate: { equals: '1.2.3' } }]);
    expect(p.sample).toEqual({
      iterations: 10,
      concurrency: 2,
      checks: ['GET /health', 'GET /health (2)', 'create', 'read'],
    });
    expect(p.thresholds.map((t) => t.expression)).toEqual(['p(95)<500', 'rate<0.01']);
    expect(p.failureLimit).toBe(1);
  });
  test('JSON works too', () => {
    const p = parsePlan('{"checks":[{"url":"http://x/"}]}', 'c.json', defaults);
    expect(p.checks[0]?.request?.url).toBe('http://x/');
  });
});

describe('malformed checks files', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['YAML syntax', 'checks:\n  - url: [http://x/\n', /^checks\.yml:\d+:\d+: invalid YAML/],
    [
      'not a mapping',
      '- url: http://x/\n',
      /^checks\.yml: \(top level\): expected a mapping with a `checks:` list/,
    ],
    ['no checks', 'defaults: {}\n', /^checks\.yml:1:1: \(top level\): 'checks' is required here/],
    ['empty checks', 'checks: []\n', /^checks\.yml:1:9: checks: expected at least 1 item\(s\)/],
    [
      'unknown top-level key with suggestion',
      'check:\n  - url: http://x/\n',
      /unknown key 'check'; did you mean 'checks'\?/,
    ],
    [
      'unknown check key',
      'checks:\n  - url: http://x/\n    expects: { status: 200 }\n',
      /^checks\.yml:3:5: checks\[0\]\.expects: unknown key 'expects'; did you mean 'expect'\?/,
    ],
    [
      'neither url nor command',
      'checks:\n  - name: x\n',
      /^checks\.yml:2:5: checks\[0\]: a check needs exactly one of 'url' \(an HTTP check\) or 'command'/,
    ],
    ['both url and command', 'checks:\n  - url: http://x/\n    command: [ls]\n', /exactly one of 'url'/],
    [
      'bad status',
      'checks:\n  - url: http://x/\n    expect: { status: 2000 }\n',
      /^checks\.yml:3:23: checks\[0\]\.expect\.status: expected a status code, a range or class/,
    ],
    [
      'bad status text',
      'checks:\n  - url: http://x/\n    expect: { status: "ok" }\n',
      /checks\[0\]\.expect\.status: 'ok' is not a status code/,
    ],
    [
      'bad duration',
      'checks:\n  - url: http://x/\n    timeout: 10 seconds\n',
      /^checks\.yml:3:14: checks\[0\]\.timeout: expected a duration such as 500ms, 10s or 5m/,
    ],
    [
      'unknown predicate',
      'checks:\n  - url: http://x/\n    expect:\n      body: { contain: ok }\n',
      /checks\[0\]\.expect\.body\.contain: unknown key 'contain'; did you mean 'contains'\?/,
    ],
    [
      'bad regex',
      'checks:\n  - url: http://x/\n    expect:\n      body: { matches: "([a-z" }\n',
      /^checks\.yml:4:\d+: checks\[0\]\.expect\.body: invalid regular expression/,
    ],
    [
      'JSONPath without $',
      'checks:\n  - url: http://x/\n    expect:\n      jsonpath: { "status": UP }\n',
      /JSONPath 'status' must start with \$/,
    ],
    [
      'relative URL without baseUrl',
      'checks:\n  - url: /health\n',
      /^checks\.yml:2:10: checks\[0\]\.url: '\/health' is a relative URL; set defaults\.baseUrl/,
    ],
    ['non-http URL', 'checks:\n  - url: ftp://x/\n', /only http:\/\/ and https:\/\/ URLs can be checked/],
    [
      'undefined variable',
      'checks:\n  - url: http://x/${NOPE}\n',
      /^checks\.yml:2:5: checks\[0\]: \$\{NOPE\} is not defined/,
    ],
    [
      'capture used before it is made',
      'checks:\n  - url: http://x/${id}\n  - url: http://x/\n    captures: { id: { jsonpath: "$.id" } }\n',
      /\$\{id\} is not defined/,
    ],
    [
      'HTTP assertion on a command',
      'checks:\n  - command: [ls]\n    expect: { status: 200 }\n',
      /checks\[0\]\.expect\.status: 'status' applies to HTTP checks; a command check takes exitCode and stdout/,
    ],
    [
      'capture with two sources',
      'checks:\n  - url: http://x/\n    captures: { id: { jsonpath: "$.id", header: x } }\n',
      /a capture takes exactly one of 'jsonpath', 'header' or 'regex'/,
    ],
    [
      'bad threshold',
      'checks:\n  - url: http://x/\nthresholds:\n  http_req_duration: ["p95<500"]\n',
      /^checks\.yml:4:\d+: thresholds\.http_req_duration\[0\]: 'p95<500' is not a threshold; expected e\.g\. p\(95\)<500/,
    ],
    [
      'threshold aggregation for the wrong metric',
      'checks:\n  - url: http://x/\nthresholds:\n  http_req_failed: ["p(95)<1"]\n',
      /p\(95\) does not apply to http_req_failed \(use rate or count\)/,
    ],
    [
      'sample of an unknown check',
      'checks:\n  - url: http://x/\nsample: { iterations: 5, checks: [nope] }\n',
      /sample\.checks\[0\]: no HTTP check named 'nope'/,
    ],
    [
      'wrong type',
      'checks:\n  - url: http://x/\n    retries: many\n',
      /checks\[0\]\.retries: expected integer/,
    ],
    [
      'duplicate key',
      'checks:\n  - url: http://x/\n    url: http://y/\n',
      /^checks\.yml:3:\d+: invalid YAML: duplicate key/,
    ],
    ['JSON syntax', '{"checks": [}', /^checks\.json:1:\d+: invalid JSON/],
  ];
  test.each(cases)('%s', (_name, text, message) => {
    const file = _name === 'JSON syntax' ? 'checks.json' : 'checks.yml';
    const m = refuse(text, file);
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });
  test('at least 15 distinct mistakes are covered', () =>
    expect(new Set(cases.map((c) => c[2].source)).size).toBeGreaterThanOrEqual(15));
});

describe('the example checks files users copy', () => {
  test.each(['workflows-examples/smoke/qa.yml'])('%s is valid', async (file) => {
    const { loadPlan } = await import('../../packages/core/src/smoke/plan.js');
    const { repoRoot } = await import('../harness/runner.js');
    const plan = loadPlan(`${repoRoot}/${file}`, { ...defaults, isDefined: () => true }, file);
    expect(plan.checks.length).toBeGreaterThan(0);
    expect(plan.wait).toBeDefined();
  });
});
