/**
 * The Marathon client against the simulator: app and deployment calls with Marathon's status codes, the three
 * auth modes (basic, DC/OS token, service-account login with an RS256 JWT and re-login on 401), the event stream.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { quietLogger } from '../harness/logger.js';
import {
  defaultLoginUrl,
  signServiceAccountToken,
  type MarathonAuth,
} from '../../packages/core/src/marathon/auth.js';
import {
  MarathonClient,
  MarathonError,
  type MarathonEvent,
} from '../../packages/core/src/marathon/client.js';
import { parseJson, type JsonObject } from '../../packages/core/src/util/json.js';
import { startMarathonSim, type MarathonSim, type MarathonSimOptions } from '../sim/marathon/server.js';

const quiet = quietLogger;

const sims: MarathonSim[] = [];
const servers: Server[] = [];
async function sim(o: MarathonSimOptions = {}): Promise<MarathonSim> {
  const s = await startMarathonSim({ timeScale: 1000, ...o });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(() => closeHttpPools());

function client(
  s: MarathonSim,
  auth: MarathonAuth = { kind: 'none' },
  secrets: string[] = [],
): MarathonClient {
  return new MarathonClient({ url: s.url, auth, log: quiet, registerSecret: (v) => secrets.push(v) });
}

const app = (image: string, extra: JsonObject = {}): JsonObject => ({
  id: '/web',
  instances: 2,
  cpus: 0.5,
  container: { type: 'DOCKER', docker: { image } },
  ...extra,
});

describe('apps and deployments', () => {
  test('PUT creates (201) then updates (200); GET app, versions; deployments listed until done', async () => {
    const s = await sim({ timeScale: 0 });
    const c = client(s);
    expect(await c.getApp('/web')).toBeUndefined();
    const created = await c.putApp('/web', app('reg/web:1'));
    expect(created).toMatchObject({ kind: 'deployed', created: true });
    s.advance(60);
    const updated = await c.putApp('/web', app('reg/web:2'));
    expect(updated).toMatchObject({ kind: 'deployed', created: false });
    if (updated.kind !== 'deployed') throw new Error('not deployed');
    const listed = await c.deployments();
    expect(listed).toEqual([
      expect.objectContaining({
        id: updated.deploymentId,
        currentStep: 1,
        totalSteps: 1,
        actions: ['RestartApplication'],
      }),
    ]);
    s.advance(60);
    await s.waitFor(() => s.deployments().length === 0);
    const got = await c.getApp('web');
    expect(got).toMatchObject({
      id: '/web',
      version: updated.version,
      instances: 2,
      image: 'reg/web:2',
      healthChecks: 0,
    });
    expect(got?.tasks).toHaveLength(2);
    expect(got?.lastConfigChangeAt).toBe(updated.version);
    const versions = await c.getVersions('/web');
    expect(versions[0]).toBe(updated.version);
    expect(versions).toHaveLength(2);
    // Stored normalized, as Marathon 1.10 does (defaults filled in).
    expect((await c.getVersion('/web', versions[1] as string))?.['container']).toEqual({
      type: 'DOCKER',
      docker: { image: 'reg/web:1', forcePullImage: false, parameters: [], privileged: false },
      volumes: [],
    });
  });

  test('409 is a result with the locking deployment ids; DELETE with and without force', async () => {
    const s = await sim({ timeScale: 0, scenarios: { 'reg/web:2': { kind: 'never-healthy' } } });
    const c = client(s);
    await c.putApp('/web', app('reg/web:1'));
    s.advance(60);
    const lock = s.lockApp('/web', 3600);
    expect(await c.putApp('/web', app('reg/web:2'))).toEqual({ kind: 'locked', deploymentIds: [lock] });
    expect(await c.cancelDeployment(lock, { force: true })).toBe('stopped');
    const up = await c.putApp('/web', app('reg/web:2'));
    if (up.kind !== 'deployed') throw new Error('not deployed');
    const revert = await c.cancelDeployment(up.deploymentId);
    expect(revert).toEqual({ deploymentId: expect.any(String), version: expect.any(String) });
    expect(await c.cancelDeployment('nope')).toBe('not-found');
  });

  test('422 and 400 bodies become one readable message', async () => {
    const s = await sim();
    const c = client(s);
    const err = await c
      .putApp('/web', app('reg/web:1', { upgradeStrategy: { minimumHealthCapacity: 1.2 } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MarathonError);
    expect((err as Error).message).toBe(
      `PUT ${s.url}/v2/apps/web answered HTTP 422 Object is not valid (/upgradeStrategy/minimumHealthCapacity: is greater than 1)`,
    );
  });
});

describe('auth', () => {
  test('basic and token headers; a 401 says what to do; credentials are registered as secrets', async () => {
    const s = await sim({ auth: { basic: { user: 'ci', password: 's3cret-pw' }, token: 'dcos-tok' } });
    const secrets: string[] = [];
    expect(
      await client(s, { kind: 'basic', user: 'ci', password: 's3cret-pw' }, secrets).getApp('/web'),
    ).toBeUndefined();
    expect(secrets).toEqual(['s3cret-pw', Buffer.from('ci:s3cret-pw').toString('base64')]);
    expect(await client(s, { kind: 'token', token: 'dcos-tok' }).getApp('/web')).toBeUndefined();
    expect(s.requests.map((r) => r.headers['authorization'])).toEqual([
      `Basic ${Buffer.from('ci:s3cret-pw').toString('base64')}`,
      'token=dcos-tok',
    ]);
    await expect(client(s).getApp('/web')).rejects.toThrow(
      // Jetty's 401 (--http_credentials) has no body for a client that accepts JSON only.
      `GET ${s.url}/v2/apps/web answered HTTP 401: Marathon requires credentials: give marathon-user and marathon-password, marathon-token, or a service account.`,
    );
    await expect(client(s, { kind: 'token', token: 'wrong' }).getApp('/web')).rejects.toThrow(
      'the credentials were rejected; check them.',
    );
  });

  test('the service-account JWT is RS256 over {uid, exp}', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwt = signServiceAccountToken('kiln-deployer', privateKey, 1_700_000_000);
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(p, 'base64url').toString())).toEqual({
      uid: 'kiln-deployer',
      exp: 1_700_000_300,
    });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url'))).toBe(true);
    expect(defaultLoginUrl('https://dcos.example.com/service/marathon')).toBe(
      'https://dcos.example.com/acs/api/v1/auth/login',
    );
  });

  test('service account: login with a signed JWT, use the token, log in again on 401', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const s = await sim({ auth: { token: 'dcos-token-2' } });
    const login = await loginServer(publicKey, ['dcos-token-1-expired', 'dcos-token-2']);
    const secrets: string[] = [];
    const c = client(s, { kind: 'service-account', uid: 'kiln', privateKey, loginUrl: login.url }, secrets);
    expect(await c.getApp('/web')).toBeUndefined();
    expect(await c.getApp('/web')).toBeUndefined();
    expect(login.logins).toEqual([
      { uid: 'kiln', valid: true },
      { uid: 'kiln', valid: true },
    ]);
    expect(s.requests.map((r) => r.headers['authorization'])).toEqual([
      'token=dcos-token-1-expired',
      'token=dcos-token-2',
      'token=dcos-token-2',
    ]);
    expect(secrets).toEqual(expect.arrayContaining(['dcos-token-1-expired', 'dcos-token-2']));
    expect(secrets.filter((x) => x.split('.').length === 3)).toHaveLength(2); // both JWTs

    const denied = await loginServer(publicKey, []);
    const other = client(s, { kind: 'service-account', uid: 'nobody', privateKey, loginUrl: denied.url });
    await expect(other.getApp('/web')).rejects.toThrow(
      `DC/OS login at ${denied.url} for service account 'nobody' failed: HTTP 401 unknown service account; check service-account-id and service-account-key`,
    );
  });
});

/** A DC/OS login endpoint: verifies the RS256 JWT with the account's public key, hands out `tokens` in turn. */
async function loginServer(
  publicKey: KeyObject,
  tokens: string[],
): Promise<{ url: string; logins: Array<{ uid: string; valid: boolean }> }> {
  const logins: Array<{ uid: string; valid: boolean }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { uid, token } = JSON.parse(body) as { uid: string; token: string };
      const [h, p, sig] = token.split('.') as [string, string, string];
      const valid = verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url'));
      logins.push({ uid, valid });
      const next = tokens.shift();
      if (!valid || next === undefined) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ title: 'Unauthorized', description: 'unknown service account' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: next }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/acs/api/v1/auth/login`, logins };
}

describe('event stream', () => {
  test('events arrive filtered by type; the stream is attached first', async () => {
    const s = await sim();
    const c = client(s);
    const stop = new AbortController();
    const got: MarathonEvent[] = [];
    let attached = false;
    const following = c.followEvents(
      ['deployment_success'],
      (e) => got.push(e),
      stop.signal,
      () => (attached = true),
    );
    await s.waitFor(() => attached);
    const put = await c.putApp('/web', app('reg/web:1'));
    if (put.kind !== 'deployed') throw new Error('not deployed');
    await s.waitFor(() => got.some((e) => e.data['id'] === put.deploymentId));
    stop.abort();
    await following;
    expect(new Set(got.map((e) => e.eventType))).toEqual(new Set(['deployment_success']));
    expect(s.requests.find((r) => r.path === '/v2/events')?.url).toBe(
      '/v2/events?event_type=event_stream_attached&event_type=deployment_success',
    );
  });

  test('a server without the stream (405) is given up quietly: polling remains', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(405);
      res.end();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = new MarathonClient({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      auth: { kind: 'none' },
      log: quiet,
      registerSecret: () => undefined,
    });
    await c.followEvents(['deployment_success'], () => undefined, new AbortController().signal);
  });

  test('app answers keep exact numbers', async () => {
    const s = await sim();
    const c = client(s);
    await c.putApp('/web', app('reg/web:1', { mem: 2048.5 }));
    const got = await c.getApp('/web');
    expect(got?.raw['mem']).toBe(2048.5);
    expect(parseJson('{"a": 12345678901234567890}')).toEqual({
      a: expect.objectContaining({ text: '12345678901234567890' }),
    });
  });
});
