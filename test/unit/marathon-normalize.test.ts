/**
 * Kiln's model of what Marathon 1.10 stores (normalize.ts) against the recorded contract: the users' qa-deploy.json
 * as sent, and the app `GET /v2/apps/appname` returns for it (test/fixtures/marathon/contract/, written from
 * Marathon's source). A rerun of the same file must compare as no change; every real change must still show.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMPUTED_APP_FIELDS,
  diffDefinitions,
  expectedApp,
  formatDiff,
  jsonEqual,
  normalizeApp,
  parseJson,
  withKeptFields,
  type JsonObject,
} from '../../packages/core/src/marathon/index.js';
import { repoRoot } from '../harness/runner.js';

const CONTRACT = join(repoRoot, 'test', 'fixtures', 'marathon', 'contract');
const read = (name: string): JsonObject =>
  parseJson(readFileSync(join(CONTRACT, name), 'utf8')) as JsonObject;
const sent = (): JsonObject => read('qa-deploy.put.json');
const stored = (): JsonObject => read('qa-deploy.get.json')['app'] as JsonObject;

/** The definition part of a GET answer (what the deployer compares). */
function definitionOf(app: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(app)) if (!COMPUTED_APP_FIELDS.includes(k)) out[k] = v;
  return out;
}

describe('normalize: the users’ qa-deploy.json as Marathon 1.10 stores it', () => {
  test('normalizeApp(body as sent) is exactly the definition GET returns (role aside: a Marathon flag)', () => {
    const { role: _role, ...expected } = definitionOf(stored());
    const got = normalizeApp(sent());
    expect(jsonEqual(got, expected)).toBe(true);
    // The rewrites a user would otherwise see as 9 "changes":
    expect(got['fetch']).toEqual([
      { uri: 'file:///etc/docker.tar.gz', extract: true, executable: false, cache: false },
    ]);
    expect(got['networks']).toEqual([{ name: 'calico-net', mode: 'container' }]);
    expect('uris' in got || 'ipAddress' in got).toBe(false);
    expect((got['healthChecks'] as JsonObject[])[0]?.['ignoreHttp1xx']).toBe(false);
  });

  test('normalizing what Marathon returns changes nothing (idempotent)', () => {
    const once = definitionOf(stored());
    expect(jsonEqual(normalizeApp(once), once)).toBe(true);
  });

  test('the same file against what runs: no change, also with Kiln’s labels differing or missing', () => {
    expect(diffDefinitions(stored(), sent())).toEqual([]);
    const withKiln = sent();
    withKiln['labels'] = {
      ...(withKiln['labels'] as JsonObject),
      KILN_RELEASE_ID: '43',
      KILN_RUN_URL: 'https://ci/2',
    };
    const running = stored();
    running['labels'] = { ...(running['labels'] as JsonObject), KILN_RELEASE_ID: '42', KILN_COMMIT: 'abc' };
    expect(diffDefinitions(running, withKiln)).toEqual([]);
    expect(diffDefinitions(running, sent())).toEqual([]);
  });

  test('real changes still show, at the paths Marathon stores them', () => {
    const next = sent();
    ((next['container'] as JsonObject)['docker'] as JsonObject)['image'] =
      'harbor.example.com/team/app@sha256:' + '22'.repeat(32);
    next['args'] = ['--spring.profiles.active=prod'];
    next['uris'] = ['https://repo.example.com/config.json'];
    next['labels'] = { HAPROXY_GROUP: 'internal', HAPROXY_0_VHOST: 'xxx.hujiang.com' };
    const lines = formatDiff(diffDefinitions(stored(), next));
    expect(lines).toEqual([
      '~ /args/0: "--spring.profiles.active=qa" → "--spring.profiles.active=prod"',
      expect.stringMatching(/^~ \/container\/docker\/image: ".*@sha256:1{64}" → ".*@sha256:2{64}"$/),
      '~ /fetch/0/uri: "file:///etc/docker.tar.gz" → "https://repo.example.com/config.json"',
      '~ /fetch/0/extract: true → false',
      '~ /labels/HAPROXY_GROUP: "external" → "internal"',
    ]);
  });

  test('absent fields keep their value; resourceLimits/executorResources are sent as they run', () => {
    const running = {
      ...stored(),
      resourceLimits: { cpus: 4, mem: 'unlimited' },
      executorResources: { cpus: 0.1, mem: 32, disk: 10 },
      constraints: [['hostname', 'UNIQUE']],
    } as JsonObject;
    const body = withKeptFields(sent(), running);
    expect(body['resourceLimits']).toEqual({ cpus: 4, mem: 'unlimited' });
    expect(body['executorResources']).toEqual({ cpus: 0.1, mem: 32, disk: 10 });
    expect('constraints' in body).toBe(false); // kept by Marathon itself (partialUpdate)
    expect(diffDefinitions(running, sent())).toEqual([]);
    // `null` in the file means "not given": Marathon resets it, and the diff says so.
    expect(formatDiff(diffDefinitions(running, { ...sent(), resourceLimits: null } as JsonObject))).toEqual([
      '- /resourceLimits: {"cpus":4,"mem":"unlimited"}',
    ]);
    const expected = expectedApp(running, sent());
    expect(expected['resourceLimits']).toBeUndefined();
  });

  test('a service port Marathon assigned (0 in the file) is not a change; host networking gets portDefinitions', () => {
    const file = sent();
    (((file['container'] as JsonObject)['docker'] as JsonObject)['portMappings'] as JsonObject[])[0]![
      'servicePort'
    ] = 0;
    expect(diffDefinitions(stored(), file)).toEqual([]);
    const host = normalizeApp({ id: '/h', cmd: 'sleep 1' });
    expect(host['networks']).toEqual([{ mode: 'host' }]);
    expect(host['portDefinitions']).toEqual([{ port: 0, name: 'default', protocol: 'tcp' }]);
  });
});
