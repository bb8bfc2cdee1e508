/**
 * The Kubernetes client against a local HTTPS API server (test/fixtures/kube-client/fake-apiserver.ts) with a test
 * CA, a server certificate for `kube.test` only (so `tls-server-name` matters) and a client certificate: TLS and
 * credentials from a kubeconfig, discovery (a CRD found once it exists), server-side apply with dry run and
 * conflicts, list pages, watch resume / BOOKMARK / 410, an exec plugin run again once on 401, the RBAC message of a
 * 403, proxy-url. And, when the Kubernetes simulator exists (test/sim/kube/), apply a Deployment and watch it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { CancelledError } from '../../packages/core/src/errors.js';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { KubeClient, type KubeWatchEvent } from '../../packages/core/src/kube/client.js';
import { KubeError } from '../../packages/core/src/kube/errors.js';
import { kubeConfigFromText } from '../../packages/core/src/kube/kubeconfig.js';
import type { JsonObject } from '../../packages/core/src/util/json.js';
import { quietLogger } from '../harness/logger.js';
import {
  makeCerts,
  startConnectProxy,
  startFakeApiServer,
  type FakeApiServer,
  type Obj,
  type TestCerts,
} from '../fixtures/kube-client/fake-apiserver.js';

const here = dirname(fileURLToPath(import.meta.url));
const PLUGIN = join(here, '../fixtures/kube-client/exec-plugin.mjs');

let certs: TestCerts;
let fake: FakeApiServer;
const closers: Array<() => Promise<void>> = [];

beforeAll(() => {
  certs = makeCerts();
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
afterAll(() => closeHttpPools());

async function server(): Promise<FakeApiServer> {
  fake = await startFakeApiServer(certs);
  closers.push(() => fake.close());
  return fake;
}

/** A kubeconfig for the fake server: its CA and tls-server-name, and the user given (default the client cert). */
function kubeconfig(
  user: Record<string, unknown> = {
    'client-certificate': certs.clientCertFile,
    'client-key': certs.clientKeyFile,
  },
  cluster: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'fake',
        cluster: {
          server: fake.url,
          'certificate-authority': certs.caFile,
          'tls-server-name': certs.serverName,
          ...cluster,
        },
      },
    ],
    users: [{ name: 'ci', user }],
    contexts: [{ name: 'ci@fake', context: { cluster: 'fake', user: 'ci', namespace: 'shop' } }],
    'current-context': 'ci@fake',
  });
}

function client(text = kubeconfig(), o: { secrets?: string[]; warnings?: string[] } = {}): KubeClient {
  return new KubeClient({
    config: kubeConfigFromText(text),
    log: { ...quietLogger, warning: (m: string) => o.warnings?.push(m) },
    onSecret: (s) => o.secrets?.push(s),
    requestTimeoutMs: 20_000,
  });
}

async function kubeError(p: Promise<unknown>): Promise<KubeError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(KubeError);
  return e as KubeError;
}

const deployment = (
  replicas: number,
  image = 'registry.example.com/shop@sha256:' + 'a'.repeat(64),
): JsonObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' } },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', ...(image ? { image } : {}) }] },
    },
  },
});

describe('connection and credentials', () => {
  test('the cluster CA, tls-server-name and a client certificate from the kubeconfig', async () => {
    await server();
    const kube = client();
    expect(await kube.version()).toEqual({
      major: '1',
      minor: '32',
      gitVersion: 'v1.32.4',
      platform: 'linux/amd64',
    });
    expect(fake.requests.at(-1)?.clientName).toBe('kiln-ci');
    expect(fake.requests.at(-1)?.headers.authorization).toBeUndefined();
    expect(kube.namespace).toBe('shop');
  });

  test('a certificate that does not match, or a CA not given: a tls error; insecure-skip-tls-verify only when asked', async () => {
    await server();
    const noName = await kubeError(client(kubeconfig(undefined, { 'tls-server-name': null })).version());
    expect(noName.kind).toBe('tls');
    expect(noName.message).toMatch(
      /^GET \/version: GET https:\/\/127\.0\.0\.1:\d+\/version: TLS error talking to/,
    );
    const noCa = await kubeError(client(kubeconfig(undefined, { 'certificate-authority': null })).version());
    expect(noCa.kind).toBe('tls');
    const insecure = client(
      kubeconfig(undefined, {
        'certificate-authority': null,
        'tls-server-name': null,
        'insecure-skip-tls-verify': true,
      }),
    );
    expect((await insecure.version()).minor).toBe('32');
  });

  test('a bearer token is sent (and masked); a refused one is an auth error naming the user and kubeconfig', async () => {
    await server();
    fake.tokens.add('good-token');
    const secrets: string[] = [];
    await client(kubeconfig({ token: 'good-token' }), { secrets }).version();
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer good-token');
    expect(secrets).toEqual(['good-token']);
    const e = await kubeError(client(kubeconfig({ token: 'stale' })).version());
    expect(e.kind).toBe('auth');
    expect(e.status).toBe(401);
    expect(e.message).toBe(
      'GET /version: HTTP 401 Unauthorized: Unauthorized: the server refused the credentials of user "ci" from the inline kubeconfig',
    );
  });

  test('403: the RBAC message', async () => {
    await server();
    const rbac =
      'secrets "db" is forbidden: User "system:serviceaccount:ci:deployer" cannot get resource "secrets" in API group "" in the namespace "shop"';
    fake.deny = (method, path) => (path.includes('/secrets/') ? rbac : undefined);
    const e = await kubeError(client().get({ apiVersion: 'v1', kind: 'Secret', name: 'db' }));
    expect(e.kind).toBe('forbidden');
    expect(e.statusMessage).toBe(rbac);
    expect(e.message).toBe(`get Secret shop/db: HTTP 403 Forbidden: ${rbac}`);
  });

  test("proxy-url: the cluster's own proxy, not the environment's", async () => {
    await server();
    const proxy = await startConnectProxy();
    closers.push(() => proxy.close());
    const kube = client(kubeconfig(undefined, { 'proxy-url': proxy.url }));
    expect((await kube.version()).major).toBe('1');
    expect(proxy.tunnels).toEqual([new URL(fake.url).host]);
    expect(fake.requests.at(-1)?.clientName).toBe('kiln-ci');
  });
});

test('retries: a GET answered 503 is repeated, a PATCH answered 500 is not', async () => {
  await server();
  const kube = client();
  fake.failures.push({ method: 'GET', status: 503 });
  expect((await kube.version()).minor).toBe('32');
  expect(fake.requests.filter((r) => r.path === '/version')).toHaveLength(2);
  await kube.resourceFor('apps/v1', 'Deployment');
  fake.failures.push({ method: 'PATCH', status: 500 });
  const e = await kubeError(kube.apply(deployment(1)));
  expect(e.kind).toBe('unavailable');
  expect(e.message).toBe('apply Deployment shop/web: HTTP 500 InternalError: injected 500');
  expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
});

describe('exec credential plugin', () => {
  function execUser(env: Record<string, string>): Record<string, unknown> {
    return {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: process.execPath,
        args: [PLUGIN],
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
        interactiveMode: 'Never',
        provideClusterInfo: true,
      },
    };
  }
  const runs = (file: string) => readFileSync(file, 'utf8').trim().split('\n').length;

  test('its token is used and kept; a 401 runs it again once and the request is repeated', async () => {
    await server();
    const log = join(certs.dir, 'runs-401');
    const secrets: string[] = [];
    const kube = client(kubeconfig(execUser({ PLUGIN_RUNS: log })), { secrets });
    // The server takes only the second token the plugin gives (the first "expired" early).
    fake.tokens.add('token-2');
    expect((await kube.version()).minor).toBe('32');
    expect(runs(log)).toBe(2);
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    await kube.resourceFor('apps/v1', 'Deployment');
    expect(runs(log)).toBe(2);
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer token-2');
    expect(secrets).toEqual(['token-1', 'token-2']);
  });

  test('refused again after the re-run: an auth error, and the plugin ran only twice', async () => {
    await server();
    const log = join(certs.dir, 'runs-refused');
    const e = await kubeError(client(kubeconfig(execUser({ PLUGIN_RUNS: log }))).version());
    expect(e.kind).toBe('auth');
    expect(runs(log)).toBe(2);
    expect(fake.requests).toHaveLength(2);
  });

  test('a client certificate from the plugin', async () => {
    await server();
    const kube = client(
      kubeconfig(
        execUser({ PLUGIN_MODE: 'cert', PLUGIN_CERT: certs.clientCertFile, PLUGIN_KEY: certs.clientKeyFile }),
      ),
    );
    await kube.version();
    expect(fake.requests.at(-1)?.clientName).toBe('kiln-ci');
  });

  test('a failing plugin: an auth error with its stderr', async () => {
    await server();
    const e = await kubeError(client(kubeconfig(execUser({ PLUGIN_MODE: 'fail' }))).version());
    expect(e.kind).toBe('auth');
    expect(e.message).toMatch(
      /^GET \/version: the exec credential plugin .* exited with 3: .*the SSO session has expired/,
    );
    expect(fake.requests).toHaveLength(0);
  });
});

describe('discovery', () => {
  test('kinds to resources, cached; a CRD created later is found; a wrong version says what is served', async () => {
    await server();
    const kube = client();
    const d = await kube.resourceFor('apps/v1', 'Deployment');
    expect(d).toEqual({
      group: 'apps',
      version: 'v1',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'deployments',
      namespaced: true,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['deploy'],
    });
    expect((await kube.resourceFor('v1', 'Namespace')).namespaced).toBe(false);
    await kube.resourceFor('apps/v1', 'Deployment');
    expect(fake.requests.filter((r) => r.path === '/apis/apps/v1')).toHaveLength(1);

    const missing = await kubeError(kube.resourceFor('example.com/v1', 'Widget'));
    expect(missing.kind).toBe('not-found');
    expect(missing.message).toBe(
      'find the resource for Widget example.com/v1: the server has no API group "example.com" (is its CustomResourceDefinition installed?)',
    );
    fake.crdInstalled = true;
    expect((await kube.resourceFor('example.com/v1', 'Widget')).name).toBe('widgets');
    expect((await kube.apiGroups()).map((g) => g.name)).toEqual(['', 'apps', 'example.com']);

    expect((await kubeError(kube.resourceFor('apps/v1beta1', 'Deployment'))).message).toBe(
      'find the resource for Deployment apps/v1beta1: the server serves apps as apps/v1, not apps/v1beta1',
    );
    expect((await kubeError(kube.resourceFor('apps/v1', 'Deploymnet'))).message).toMatch(
      /: apps\/v1 has no kind Deploymnet$/,
    );
  });
});

describe('objects', () => {
  test('server-side apply: dry run stores nothing; the body is YAML; then created; conflicts name the managers; force', async () => {
    await server();
    const kube = client();
    const dry = await kube.apply(deployment(3), { dryRun: true });
    expect((dry['metadata'] as Obj)['namespace']).toBe('shop');
    const sent = fake.requests.at(-1)!;
    expect(sent.method).toBe('PATCH');
    expect(sent.path).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(sent.query.toString()).toBe('fieldManager=kiln&force=false&dryRun=All');
    expect(sent.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(parseYaml(sent.body)).toEqual(deployment(3));
    expect(await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' })).toBeUndefined();

    const created = await kube.apply(deployment(3));
    expect(fake.requests.at(-1)?.query.toString()).toBe('fieldManager=kiln&force=false');
    const got = await kube.get({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    expect(got).toEqual(created);

    // Someone scaled it by hand with kubectl: .spec.replicas is theirs now.
    fake.replicasOwner.set('/apis/apps/v1/namespaces/shop/deployments/web', 'kubectl-client-side-apply');
    const conflict = await kubeError(kube.apply(deployment(5)));
    expect(conflict.kind).toBe('conflict');
    expect(conflict.conflicts).toEqual([
      {
        manager: 'kubectl-client-side-apply',
        field: '.spec.replicas',
        message: 'conflict with "kubectl-client-side-apply" using apps/v1',
      },
    ]);
    expect(conflict.message).toBe(
      'apply Deployment shop/web: HTTP 409 Conflict: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
    );
    const forced = await kube.apply(deployment(5), { force: true, fieldManager: 'kiln-deploy' });
    expect(fake.requests.at(-1)?.query.toString()).toBe('fieldManager=kiln-deploy&force=true');
    expect((forced['spec'] as Obj)['replicas']).toBe(5);
  });

  test('invalid objects: 422 with causes; patch; delete; get of what is not there', async () => {
    await server();
    const kube = client();
    const invalid = await kubeError(kube.apply(deployment(1, '')));
    expect(invalid.kind).toBe('invalid');
    expect(invalid.causes).toEqual([
      {
        reason: 'FieldValueRequired',
        message: 'Required value',
        field: 'spec.template.spec.containers[0].image',
      },
    ]);
    expect(invalid.statusMessage).toBe(
      'Deployment.apps "web" is invalid: spec.template.spec.containers[0].image: Required value',
    );
    await kube.apply(deployment(2), { namespace: 'other' });
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'other' };
    const patched = await kube.patch(
      ref,
      { metadata: { annotations: { 'kiln.dev/release': '7' } } },
      { type: 'merge' },
    );
    expect(fake.requests.at(-1)?.headers['content-type']).toBe('application/merge-patch+json');
    expect(((patched['metadata'] as Obj)['annotations'] as Obj)['kiln.dev/release']).toBe('7');
    expect(await kube.delete(ref)).toMatchObject({ kind: 'Deployment' });
    expect(JSON.parse(fake.requests.at(-1)!.body)).toEqual({
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      propagationPolicy: 'Background',
    });
    expect(await kube.delete(ref)).toBeUndefined();
    expect(await kube.get(ref)).toBeUndefined();
    const apply = await kubeError(kube.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }));
    expect(apply.message).toBe('apply: the object has no metadata.name');
  });

  test('list: every page with continue tokens, selectors; an expired token lists again in one piece', async () => {
    await server();
    for (const name of ['e', 'a', 'c', 'b', 'd'])
      fake.putConfigMap('shop', name, { tier: name < 'c' ? 'front' : 'back' });
    fake.putConfigMap('other', 'z');
    const kube = client();
    const all = await kube.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { limit: 2 });
    expect(all.items.map((i) => (i['metadata'] as Obj)['name'])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(all.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
    expect(all.resourceVersion).toMatch(/^\d+$/);
    const pages = fake.requests.filter((r) => r.path === '/api/v1/namespaces/shop/configmaps');
    expect(pages.map((r) => [r.query.get('limit'), r.query.get('continue')])).toEqual([
      ['2', null],
      ['2', pages[1]?.query.get('continue')],
      ['2', pages[2]?.query.get('continue')],
    ]);
    const front = await kube.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { labelSelector: 'tier=front' });
    expect(front.items.map((i) => (i['metadata'] as Obj)['name'])).toEqual(['a', 'b']);
    const everywhere = await kube.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { allNamespaces: true });
    expect(everywhere.items).toHaveLength(6);
    expect(fake.requests.at(-1)?.path).toBe('/api/v1/configmaps');

    fake.expireContinue = true;
    const again = await kube.list({ apiVersion: 'v1', kind: 'ConfigMap' }, { limit: 2 });
    expect(again.items).toHaveLength(5);
    expect(fake.requests.at(-1)?.query.get('limit')).toBeNull();
  });
});

describe('watch', () => {
  const cm = (name: string, rv: string): Obj => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'shop', resourceVersion: rv },
  });

  test('resumes from the last resourceVersion when a stream ends; BOOKMARK moves it; 410 re-lists and says so', async () => {
    await server();
    fake.putConfigMap('shop', 'x');
    fake.watchScripts = [
      (w) => {
        w.event('ADDED', cm('a', '201'));
        w.event('MODIFIED', cm('a', '202'));
        w.end();
      },
      (w) => {
        w.event('BOOKMARK', { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '250' } });
        w.event('DELETED', cm('a', '251'));
        w.end();
      },
      (w) =>
        w.event('ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: 'too old resource version: 251 (300)',
          reason: 'Expired',
          code: 410,
        }),
      (w) => {
        w.event('ADDED', cm('b', '301'));
        w.end();
      },
      (w) =>
        w.status(410, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 }),
      (w) => w.event('ADDED', cm('c', '401')),
    ];
    const kube = client();
    const seen: KubeWatchEvent[] = [];
    for await (const event of kube.watch(
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { resourceVersion: '200', labelSelector: 'app=web', timeoutSeconds: 60 },
    )) {
      seen.push(event);
      if (event.type === 'ADDED' && (event.object['metadata'] as Obj)['name'] === 'c') break;
    }
    const brief = seen.map((e) =>
      e.type === 'RELISTED'
        ? `RELISTED ${e.items.length}`
        : `${e.type} ${(e.object['metadata'] as Obj)['name']} ${(e.object['metadata'] as Obj)['resourceVersion']}`,
    );
    expect(brief).toEqual([
      'ADDED a 201',
      'MODIFIED a 202',
      'DELETED a 251',
      'RELISTED 0',
      'ADDED b 301',
      'RELISTED 0',
      'ADDED c 401',
    ]);
    const watches = fake.requests.filter((r) => r.query.get('watch') === 'true');
    const relisted = seen.flatMap((e) => (e.type === 'RELISTED' ? [e.resourceVersion] : []));
    expect(relisted).toEqual([expect.stringMatching(/^\d+$/), expect.stringMatching(/^\d+$/)]);
    expect(watches.map((r) => r.query.get('resourceVersion'))).toEqual([
      '200',
      '202',
      '251',
      relisted[0],
      '301',
      relisted[1],
    ]);
    expect(watches[0]?.query.toString()).toBe(
      'watch=true&allowWatchBookmarks=true&resourceVersion=200&labelSelector=app%3Dweb&timeoutSeconds=60',
    );
    // The re-lists use the watch's selectors.
    const lists = fake.requests.filter(
      (r) => r.method === 'GET' && r.path.endsWith('/configmaps') && r.query.get('watch') === null,
    );
    expect(lists.map((r) => r.query.get('labelSelector'))).toEqual(['app=web', 'app=web']);
  });

  test('a watch of one Deployment by name; an abort ends it with the cancellation, the deadline with a timeout', async () => {
    await server();
    const kube = client();
    const web = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', resourceVersion: '7' },
    };
    // The server sends one event and then nothing: the stream stays open.
    fake.watchScripts = [(w) => w.event('ADDED', web), (w) => w.event('ADDED', web)];
    const abort = new AbortController();
    const ref = { apiVersion: 'apps/v1', kind: 'Deployment' };
    const cancelled = (async () => {
      for await (const event of kube.watch(ref, {
        fieldSelector: 'metadata.name=web',
        signal: abort.signal,
      })) {
        expect(event.type).toBe('ADDED');
        abort.abort(new CancelledError('SIGTERM'));
      }
    })();
    await expect(cancelled).rejects.toThrow('Cancelled by SIGTERM');
    const watch = fake.requests.find((r) => r.query.get('watch') === 'true');
    expect(watch?.path).toBe('/apis/apps/v1/namespaces/shop/deployments');
    expect(watch?.query.get('fieldSelector')).toBe('metadata.name=web');
    expect(watch?.query.get('resourceVersion')).toBeNull();

    const events: string[] = [];
    const timedOut = await kubeError(
      (async () => {
        for await (const event of kube.watch(ref, { deadline: Date.now() + 300 })) events.push(event.type);
      })(),
    );
    expect(events).toEqual(['ADDED']);
    expect(timedOut.kind).toBe('timeout');
    expect(timedOut.message).toBe('watch Deployment in shop: the deadline passed');
  });
});

/**
 * The Kubernetes simulator (test/sim/kube/, another piece of work): loaded only when it is there, through the
 * little of its interface used here, so these tests never depend on it otherwise.
 */
interface KubeSimLike {
  kubeconfig(o?: { user?: 'token' | 'certificate' | 'none'; namespace?: string }): string;
  get(apiVersion: string, kind: string, namespace: string, name: string): JsonObject | undefined;
  requests: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined> }>;
  loopErrors: Error[];
  close(): Promise<void>;
}
type StartKubeSim = (o: {
  timeScale?: number;
  tls?: boolean;
  clientCertificates?: boolean;
}) => Promise<KubeSimLike>;
const SIM = join(here, '../sim/kube/server.ts');

(existsSync(SIM) ? describe : describe.skip)('against the Kubernetes simulator (test/sim/kube)', () => {
  const cases: Array<{
    name: string;
    options: { timeScale: number; tls?: boolean; clientCertificates?: boolean };
    user: 'none' | 'certificate';
  }> = [
    { name: 'plain http', options: { timeScale: 200 }, user: 'none' },
    {
      name: 'https with a client certificate',
      options: { timeScale: 200, tls: true, clientCertificates: true },
      user: 'certificate',
    },
  ];
  test.each(cases)(
    '$name: server-side apply a Deployment (dry run first) and watch it become available',
    async ({ options, user }) => {
      const { startKubeSim } = (await import(pathToFileURL(SIM).href)) as { startKubeSim: StartKubeSim };
      const sim = await startKubeSim(options);
      closers.push(() => sim.close());
      const kube = client(sim.kubeconfig({ user, namespace: 'shop' }));
      // A cluster-scoped object first: the namespace.
      const ns = await kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
      expect((ns['metadata'] as Obj)['namespace']).toBeUndefined();
      const ref = { apiVersion: 'apps/v1', kind: 'Deployment' };
      const { resourceVersion } = await kube.list(ref, { fieldSelector: 'metadata.name=web' });

      const dry = await kube.apply(deployment(2), { dryRun: true });
      expect((dry['metadata'] as Obj)['uid']).toEqual(expect.any(String));
      expect(sim.get('apps/v1', 'Deployment', 'shop', 'web')).toBeUndefined();
      await kube.apply(deployment(2));
      const stored = sim.get('apps/v1', 'Deployment', 'shop', 'web');
      const managers = ((stored?.['metadata'] as Obj)['managedFields'] as Obj[]).map((m) => [
        m['manager'],
        m['operation'],
      ]);
      expect(managers).toContainEqual(['kiln', 'Apply']);

      const seen: string[] = [];
      for await (const event of kube.watch(ref, {
        resourceVersion,
        fieldSelector: 'metadata.name=web',
        deadline: Date.now() + 30_000,
      })) {
        if (event.type === 'RELISTED') continue;
        const status = (event.object['status'] ?? {}) as Obj;
        seen.push(event.type);
        if (event.type === 'MODIFIED' && status['availableReplicas'] === 2 && status['updatedReplicas'] === 2)
          break;
      }
      expect(seen[0]).toBe('ADDED');
      expect(seen.at(-1)).toBe('MODIFIED');
      const patch = sim.requests.find(
        (r) => r.method === 'PATCH' && r.url.includes('/deployments/') && !r.url.includes('dryRun'),
      );
      expect(patch?.url).toMatch(
        /\/apis\/apps\/v1\/namespaces\/shop\/deployments\/web\?fieldManager=kiln&force=false$/,
      );
      expect(patch?.headers['content-type']).toBe('application/apply-patch+yaml');
      expect(sim.loopErrors).toEqual([]);
    },
  );
});
