/**
 * What Kiln renders is what Marathon accepts: the users' definition and five richer ones (MESOS container with a
 * docker image, readiness checks, constraints, fetch, secrets, a resident app with persistent volumes,
 * portDefinitions, every health-check protocol) rendered by Kiln and validated against Marathon's own JSON schema
 * for apps (the last one it shipped; test/fixtures/marathon/contract/schema). The simulator accepts each of them and
 * a rerun of each is unchanged — its normalization holds for more than the users' file.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import {
  diffDefinitions,
  parseApp,
  renderAppDefinition,
  type JsonObject,
} from '../../packages/core/src/marathon/index.js';
import { repoRoot } from '../harness/runner.js';
import { startMarathonSim, type MarathonSim } from '../sim/marathon/server.js';

const require = createRequire(import.meta.url);
const Ajv04 = require('ajv-draft-04') as new (o: object) => {
  compile(
    schema: object,
  ): ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> };
};
const addFormats = require('ajv-formats') as (ajv: unknown) => void;

const CONTRACT = join(repoRoot, 'test', 'fixtures', 'marathon', 'contract');
const schema = JSON.parse(readFileSync(join(CONTRACT, 'schema', 'AppDefinition.json'), 'utf8')) as object;
// strict: false — the schema uses `cpus`/`mem`/`disk` as keywords inside executorResources (a mistake in it).
const ajv = new Ajv04({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);
const problems = (def: JsonObject): string[] =>
  validate(JSON.parse(JSON.stringify(def)))
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const kilnLabels = {
  KILN_RELEASE_ID: '2026.11.29-7',
  KILN_COMMIT: 'a'.repeat(40),
  KILN_RUN_URL: 'https://ci/run/7',
};

const definitions: Record<string, JsonObject> = {
  'the users’ qa-deploy.json': JSON.parse(
    readFileSync(join(CONTRACT, 'qa-deploy.put.json'), 'utf8'),
  ) as JsonObject,
  'MESOS container with a docker image, readiness, constraints, fetch, portDefinitions, HTTP + TCP checks': {
    id: '/payments/api',
    instances: 3,
    cpus: 0.5,
    mem: 512,
    args: ['--spring.profiles.active=${ENV}'],
    container: {
      type: 'MESOS',
      docker: { image: 'harbor.example.com/payments/api:test', forcePullImage: false },
    },
    portDefinitions: [
      { port: 0, name: 'http-api', protocol: 'tcp' },
      { port: 0, name: 'admin', protocol: 'tcp' },
    ],
    constraints: [
      ['hostname', 'UNIQUE'],
      ['rack', 'GROUP_BY', '2'],
    ],
    fetch: [
      { uri: 'https://repo.example.com/config/app.tar.gz', extract: true, executable: false, cache: true },
    ],
    readinessChecks: [
      {
        name: 'ready',
        protocol: 'HTTP',
        path: '/ready',
        portName: 'http-api',
        intervalSeconds: 10,
        timeoutSeconds: 5,
        httpStatusCodesForReady: [200, 204],
      },
    ],
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/health',
        portIndex: 0,
        gracePeriodSeconds: 60,
        intervalSeconds: 10,
        maxConsecutiveFailures: 3,
      },
      {
        protocol: 'TCP',
        portIndex: 1,
        gracePeriodSeconds: 60,
        intervalSeconds: 10,
        maxConsecutiveFailures: 3,
      },
    ],
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
  },
  'secrets in env, a COMMAND check and an HTTPS check': {
    id: '/payments/worker',
    cmd: '/app/bin/worker --profile=prod',
    container: { type: 'DOCKER', docker: { image: 'harbor.example.com/payments/worker:test' } },
    secrets: { db: { source: '/payments/db-password' } },
    env: { DB_PASSWORD: { secret: 'db' }, LOG_LEVEL: 'info' },
    healthChecks: [
      {
        protocol: 'COMMAND',
        command: { value: 'curl -f http://localhost:8080/health' },
        gracePeriodSeconds: 120,
      },
      { protocol: 'HTTPS', path: '/health', portIndex: 0, ignoreHttp1xx: false },
    ],
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'https' }],
    killSelection: 'OLDEST_FIRST',
    taskKillGracePeriodSeconds: 30,
  },
  'a resident app with a persistent volume and MESOS_TCP check': {
    id: '/data/store',
    instances: 1,
    container: {
      type: 'MESOS',
      docker: { image: 'harbor.example.com/data/store:test' },
      volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 1024 } }],
    },
    residency: { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' },
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
    portDefinitions: [{ port: 0, name: 'store' }],
    healthChecks: [{ protocol: 'MESOS_TCP', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 30 }],
  },
  'BRIDGE networking with port mappings, MESOS_HTTP check, dependencies, unreachableStrategy': {
    id: '/web/frontend',
    instances: 2,
    container: {
      type: 'DOCKER',
      docker: {
        image: 'harbor.example.com/web/frontend:test',
        network: 'BRIDGE',
        portMappings: [
          {
            containerPort: 8080,
            hostPort: 0,
            servicePort: 10080,
            protocol: 'tcp',
            labels: { VIP_0: '/web:80' },
          },
        ],
        parameters: [{ key: 'log-driver', value: 'json-file' }],
      },
    },
    dependencies: ['/payments/api'],
    labels: { HAPROXY_GROUP: 'external' },
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/health', portIndex: 0 }],
    unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 },
    backoffSeconds: 2,
    backoffFactor: 1.5,
    maxLaunchDelaySeconds: 600,
  },
  'container networks (canonical form) with an image by digest already': {
    id: '/web/api',
    networks: [{ mode: 'container', name: 'calico-net', labels: { tier: 'api' } }],
    container: {
      type: 'DOCKER',
      docker: { image: `harbor.example.com/web/api@${DIGEST}` },
      portMappings: [{ containerPort: 9000, name: 'api' }],
    },
    healthChecks: [{ protocol: 'HTTP', path: '/health', portIndex: 0 }],
    acceptedResourceRoles: ['*'],
  },
};

const render = (def: JsonObject): JsonObject =>
  renderAppDefinition(def, {
    source: 'app-definition test.json',
    ...(JSON.stringify(def).includes('@sha256:') ? {} : { digest: DIGEST }),
    allowMutableTag: false,
    vars: JSON.stringify(def).includes('${ENV}') ? { ENV: 'prod' } : {},
    kilnLabels,
  }).definition;

const sims: MarathonSim[] = [];
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
});

describe('rendered definitions pass Marathon’s own AppDefinition.json schema', () => {
  test.each(Object.entries(definitions))('%s', async (_name, def) => {
    const rendered = render(def);
    expect(problems(rendered)).toEqual([]);

    const s = await startMarathonSim({ timeScale: 1000 });
    sims.push(s);
    const id = String(rendered['id']);
    const put = await fetch(`${s.url}/v2/apps${id}`, { method: 'PUT', body: JSON.stringify(rendered) });
    expect([put.status, put.status === 201 ? '' : await put.text()]).toEqual([201, '']);
    const got = await fetch(`${s.url}/v2/apps${id}`).then((r) => r.json() as Promise<{ app: JsonObject }>);
    // What Marathon stores is, to Kiln, the same definition: a rerun would be unchanged.
    expect(diffDefinitions(parseApp(got.app).raw, rendered)).toEqual([]);
  });

  test('the schema is strict where Marathon is: an unknown field, a bad constraint operator, cmd with args', () => {
    const base = render(
      definitions['container networks (canonical form) with an image by digest already'] as JsonObject,
    );
    expect(problems({ ...base, 'x-team': 'payments' })).toEqual([' must NOT have additional properties']);
    expect(problems({ ...base, constraints: [['hostname', 'SOMETIMES']] }).join()).toContain(
      '/constraints/0/1',
    );
    expect(problems({ ...base, cmd: 'run', args: ['--x'] })).not.toEqual([]);
  });
});
