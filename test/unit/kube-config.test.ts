/**
 * Kubeconfig loading with client-go's rules (explicit file, KUBECONFIG merged first-wins, ~/.kube/config, inline,
 * in-cluster), contexts and namespaces, relative paths, one-line errors naming the kubeconfig and the field; and
 * exec credential plugins (a small node script as the plugin): token, certificate, expiry and refresh, failure
 * with the install hint, KUBERNETES_EXEC_INFO.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import {
  ExecCredentialError,
  ExecCredentialProvider,
  parseExecConfig,
  type ExecConfig,
} from '../../packages/core/src/kube/exec-credential.js';
import {
  inClusterConfig,
  kubeConfigFromText,
  loadKubeConfig,
} from '../../packages/core/src/kube/kubeconfig.js';
import { quietLogger } from '../harness/logger.js';

const PLUGIN = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/kube-client/exec-plugin.mjs');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const CA = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';

let root: string;
let n = 0;
/** A fresh directory for one test. */
function dir(): string {
  const d = join(root, `t${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
}
function write(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kiln-kubeconfig-'));
});

/** A kubeconfig's YAML from parts (JSON is YAML). */
function kubeconfig(o: {
  clusters?: Record<string, Record<string, unknown>>;
  users?: Record<string, Record<string, unknown>>;
  contexts?: Record<string, Record<string, unknown>>;
  current?: string;
}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: Object.entries(o.clusters ?? {}).map(([name, cluster]) => ({ name, cluster })),
    users: Object.entries(o.users ?? {}).map(([name, user]) => ({ name, user })),
    contexts: Object.entries(o.contexts ?? {}).map(([name, context]) => ({ name, context })),
    ...(o.current ? { 'current-context': o.current } : {}),
  });
}

/** The message of the ConfigurationError `fn` throws; fails if it throws anything else. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected an error');
}

const noEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: join(root, 'nohome'),
  ...extra,
});

describe('kubeconfig files', () => {
  test('an explicit file: its context, cluster and user; relative paths against its directory', () => {
    const d = dir();
    write(join(d, 'certs/ca.crt'), CA);
    write(join(d, 'certs/ci.crt'), 'CERT');
    write(join(d, 'certs/ci.key'), 'KEY');
    const path = write(
      join(d, 'conf/kubeconfig'),
      kubeconfig({
        clusters: {
          prod: {
            server: 'https://k8s.example.com:6443/',
            'certificate-authority': '../certs/ca.crt',
            'tls-server-name': 'kubernetes.default',
            'proxy-url': 'http://proxy.internal:3128',
          },
        },
        users: { ci: { 'client-certificate': '../certs/ci.crt', 'client-key': '../certs/ci.key' } },
        contexts: { main: { cluster: 'prod', user: 'ci', namespace: 'shop' } },
        current: 'main',
      }),
    );
    const c = loadKubeConfig({ path, env: noEnv() });
    expect(c.source).toBe(`kubeconfig ${path}`);
    expect(c.context).toBe('main');
    expect(c.namespace).toBe('shop');
    expect(c.cluster).toEqual({
      name: 'prod',
      server: 'https://k8s.example.com:6443',
      caData: CA,
      insecureSkipTlsVerify: false,
      tlsServerName: 'kubernetes.default',
      proxyUrl: 'http://proxy.internal:3128',
    });
    expect(c.user).toEqual({ name: 'ci', clientCertificate: { cert: 'CERT', key: 'KEY' } });
    // The namespace given wins over the context's.
    expect(loadKubeConfig({ path, namespace: 'qa', env: noEnv() }).namespace).toBe('qa');
  });

  test('data fields, insecure-skip-tls-verify, tokenFile, basic, a context by name, namespace default', () => {
    const d = dir();
    write(join(d, 'token'), 'file-token\n');
    const path = write(
      join(d, 'config'),
      kubeconfig({
        clusters: {
          a: { server: 'https://a:6443', 'certificate-authority-data': b64(CA) },
          b: { server: 'https://b:6443', 'insecure-skip-tls-verify': true },
        },
        users: {
          tok: { tokenFile: 'token' },
          basic: { username: 'admin', password: 's3cret' },
          data: { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') },
        },
        contexts: {
          one: { cluster: 'a', user: 'tok' },
          two: { cluster: 'b', user: 'basic', namespace: 'ops' },
          three: { cluster: 'a', user: 'data' },
        },
        current: 'one',
      }),
    );
    const one = loadKubeConfig({ path, env: noEnv() });
    expect(one.namespace).toBe('default');
    expect(one.cluster.caData).toBe(CA);
    expect(one.user).toEqual({ name: 'tok', token: 'file-token', tokenFile: join(d, 'token') });
    const two = loadKubeConfig({ path, context: 'two', env: noEnv() });
    expect(two.cluster.insecureSkipTlsVerify).toBe(true);
    expect(two.user.basic).toEqual({ username: 'admin', password: 's3cret' });
    expect(two.namespace).toBe('ops');
    expect(loadKubeConfig({ path, context: 'three', env: noEnv() }).user.clientCertificate).toEqual({
      cert: 'CERT',
      key: 'KEY',
    });
  });

  test('KUBECONFIG: files merged, the first to define a name wins it whole, the first current-context wins', () => {
    const d = dir();
    write(join(d, 'one/ca.crt'), CA);
    const first = write(
      join(d, 'one/config'),
      kubeconfig({
        clusters: { shared: { server: 'https://first:6443', 'certificate-authority': 'ca.crt' } },
        users: { ci: { token: 'first-token' } },
        contexts: { dev: { cluster: 'shared', user: 'ci', namespace: 'dev' } },
      }),
    );
    write(join(d, 'two/ca.crt'), 'OTHER CA');
    const second = write(
      join(d, 'two/config'),
      kubeconfig({
        clusters: {
          shared: { server: 'https://second:6443' },
          own: { server: 'https://own:6443', 'certificate-authority': 'ca.crt' },
        },
        // The second file's "ci" is discarded whole, even its fields the first did not set.
        users: { ci: { token: 'second-token', username: 'x' }, other: { token: 'o' } },
        contexts: { prod: { cluster: 'own', user: 'ci' } },
        current: 'prod',
      }),
    );
    const third = write(join(d, 'three/config'), kubeconfig({ current: 'dev' }));
    const env = noEnv({ KUBECONFIG: [join(d, 'missing'), first, second, third, first].join(':') });
    const c = loadKubeConfig({ env });
    // No current-context in the first file: the second file's wins (not the third's).
    expect(c.context).toBe('prod');
    expect(c.source).toBe(`kubeconfig ${second}`);
    expect(c.cluster.server).toBe('https://own:6443');
    // A relative path is resolved against the file that defined the entry.
    expect(c.cluster.caData).toBe('OTHER CA');
    expect(c.user).toEqual({ name: 'ci', token: 'first-token' });
    const dev = loadKubeConfig({ env, context: 'dev' });
    expect(dev.cluster.server).toBe('https://first:6443');
    expect(dev.cluster.caData).toBe(CA);
    expect(dev.namespace).toBe('dev');
  });

  test('~/.kube/config when KUBECONFIG is not set', () => {
    const home = dir();
    write(
      join(home, '.kube/config'),
      kubeconfig({
        clusters: { c: { server: 'https://home:6443' } },
        contexts: { x: { cluster: 'c' } },
        current: 'x',
      }),
    );
    const c = loadKubeConfig({ env: { HOME: home } });
    expect(c.cluster.server).toBe('https://home:6443');
    expect(c.user).toEqual({ name: '' });
  });

  test('inline content (a secret input): relative paths against the working directory', () => {
    const d = dir();
    write(join(d, 'ca.pem'), CA);
    const text = kubeconfig({
      clusters: { c: { server: 'https://inline:6443', 'certificate-authority': 'ca.pem' } },
      users: { u: { token: 'inline-token' } },
      contexts: { x: { cluster: 'c', user: 'u' } },
      current: 'x',
    });
    const c = loadKubeConfig({ inline: text, cwd: d, env: noEnv({ KUBECONFIG: '/nonexistent' }) });
    expect(c.source).toBe('the inline kubeconfig');
    expect(c.cluster.caData).toBe(CA);
    expect(c.user.token).toBe('inline-token');
    // YAML as people write it.
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: c',
      '  cluster: {server: "https://y:443"}',
      'contexts:',
      '- name: x',
      '  context: {cluster: c, namespace: web}',
      'current-context: x',
    ].join('\n');
    expect(kubeConfigFromText(yaml).namespace).toBe('web');
  });
});

describe('in-cluster', () => {
  function serviceAccount(files: Record<string, string>): string {
    const d = dir();
    for (const [name, text] of Object.entries(files)) write(join(d, name), text);
    return d;
  }

  test('token, CA and namespace from the mounted service account', () => {
    const sa = serviceAccount({ token: 'sa-token\n', 'ca.crt': CA, namespace: 'ci-runners' });
    const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const c = inClusterConfig({ env, serviceAccountDir: sa });
    expect(c).toEqual({
      source: 'the in-cluster service account',
      namespace: 'ci-runners',
      cluster: {
        name: 'in-cluster',
        server: 'https://10.96.0.1:443',
        caData: CA,
        insecureSkipTlsVerify: false,
      },
      user: { name: 'in-cluster', token: 'sa-token', tokenFile: join(sa, 'token') },
    });
    expect(
      inClusterConfig({ env: { ...env, KUBERNETES_SERVICE_HOST: 'fd00::1' }, serviceAccountDir: sa }).cluster
        .server,
    ).toBe('https://[fd00::1]:443');
  });

  test('used when no kubeconfig exists, or when asked for; a namespace given wins', () => {
    const sa = serviceAccount({ token: 't' });
    const env = noEnv({ KUBERNETES_SERVICE_HOST: 'kubernetes', KUBERNETES_SERVICE_PORT: '6443' });
    const c = loadKubeConfig({ env, serviceAccountDir: sa });
    expect(c.source).toBe('the in-cluster service account');
    expect(c.namespace).toBe('default');
    expect(c.cluster.caData).toBeUndefined();
    const home = dir();
    write(
      join(home, '.kube/config'),
      kubeconfig({
        clusters: { c: { server: 'https://h' } },
        contexts: { x: { cluster: 'c' } },
        current: 'x',
      }),
    );
    expect(loadKubeConfig({ env: { ...env, HOME: home }, serviceAccountDir: sa }).cluster.server).toBe(
      'https://h',
    );
    const forced = loadKubeConfig({
      env: { ...env, HOME: home },
      serviceAccountDir: sa,
      inCluster: true,
      namespace: 'x',
    });
    expect(forced.cluster.server).toBe('https://kubernetes:6443');
    expect(forced.namespace).toBe('x');
  });

  test('not in a pod, or no token: one line saying so', () => {
    expect(errorOf(() => inClusterConfig({ env: {} }))).toBe(
      'the in-cluster service account: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)',
    );
    const sa = dir();
    expect(
      errorOf(() =>
        inClusterConfig({
          env: { KUBERNETES_SERVICE_HOST: 'k', KUBERNETES_SERVICE_PORT: '443' },
          serviceAccountDir: sa,
        }),
      ),
    ).toBe(`the in-cluster service account: ${join(sa, 'token')} cannot be read (it does not exist)`);
  });
});

describe('bad kubeconfigs: one line naming the kubeconfig and the field', () => {
  const cluster = { server: 'https://k:6443' };
  function file(text: string): string {
    return write(join(dir(), 'config'), text);
  }
  function load(content: Parameters<typeof kubeconfig>[0], context?: string): string {
    const path = file(kubeconfig({ current: 'x', ...content }));
    return errorOf(() => loadKubeConfig({ path, env: noEnv(), ...(context ? { context } : {}) }));
  }

  test('files', () => {
    const missing = join(root, 'no-such-kubeconfig');
    expect(errorOf(() => loadKubeConfig({ path: missing, env: noEnv() }))).toBe(
      `kubeconfig ${missing} cannot be read (it does not exist)`,
    );
    expect(errorOf(() => loadKubeConfig({ path: '/dev/zero', env: noEnv() }))).toMatch(/not a regular file/);
    const bad = file('clusters:\n  - name: a\n   cluster: {}\n');
    expect(errorOf(() => loadKubeConfig({ path: bad, env: noEnv() }))).toMatch(
      new RegExp(`^kubeconfig ${bad}: invalid YAML at line \\d+, column \\d+: `),
    );
    // A "billion laughs": each level repeats the one before ten times.
    const levels = 'abcdefghi'.split('');
    const bomb = file(
      levels
        .map(
          (l, i) =>
            `${l}: &${l} [${Array(10)
              .fill(i === 0 ? 'lol' : `*${levels[i - 1]}`)
              .join(', ')}]`,
        )
        .join('\n'),
    );
    expect(errorOf(() => loadKubeConfig({ path: bomb, env: noEnv() }))).toBe(
      `kubeconfig ${bomb}: invalid YAML: it expands too many aliases (more than 100)`,
    );
    const wrongKind = file('apiVersion: v1\nkind: Pod\n');
    expect(errorOf(() => loadKubeConfig({ path: wrongKind, env: noEnv() }))).toBe(
      `kubeconfig ${wrongKind}: kind is "Pod"; a kubeconfig has kind: Config`,
    );
    expect(errorOf(() => loadKubeConfig({ env: noEnv({ KUBECONFIG: '/nope/a:/nope/b' }) }))).toBe(
      'KUBECONFIG (/nope/a:/nope/b: none of these files exists); give a kubeconfig',
    );
    expect(errorOf(() => loadKubeConfig({ env: noEnv() }))).toMatch(
      /^no kubeconfig \(.*\/nohome\/\.kube\/config does not exist/,
    );
  });

  test('contexts', () => {
    expect(load({ contexts: { a: { cluster: 'c' } } }, 'b')).toMatch(
      /: context "b" is not there; it has "a"$/,
    );
    const path = file(kubeconfig({ clusters: { c: cluster }, contexts: { a: { cluster: 'c' } } }));
    expect(errorOf(() => loadKubeConfig({ path, env: noEnv() }))).toBe(
      `kubeconfig ${path}: no current-context is set and no context was given; it has "a"`,
    );
    expect(load({ contexts: { x: { cluster: 'gone' } } })).toMatch(
      /: contexts\[x\]\.cluster names "gone", which no clusters entry defines$/,
    );
    expect(load({ clusters: { c: cluster }, contexts: { x: { cluster: 'c', user: 'who' } } })).toMatch(
      /: contexts\[x\]\.user names "who", which no users entry defines$/,
    );
    expect(
      load({ clusters: { c: cluster }, contexts: { x: { cluster: 'c', namespace: 'Not_Valid' } } }),
    ).toMatch(/: contexts\[x\]\.namespace "Not_Valid" is not a valid namespace name$/);
    const twice = file(
      'clusters:\n- name: a\n  cluster: {server: "https://a"}\n- name: a\n  cluster: {server: "https://b"}\n',
    );
    expect(errorOf(() => loadKubeConfig({ path: twice, env: noEnv() }))).toBe(
      `kubeconfig ${twice}: clusters: "a" is defined twice`,
    );
  });

  test('clusters and users', () => {
    const ctx = { x: { cluster: 'c', user: 'u' } };
    const withCluster = (c: Record<string, unknown>, u: Record<string, unknown> = {}) =>
      load({ clusters: { c }, users: { u }, contexts: ctx });
    expect(withCluster({})).toMatch(/: clusters\[c\]\.server is missing$/);
    expect(withCluster({ server: 'ftp://k' })).toMatch(
      /: clusters\[c\]\.server must be an https:\/\/ \(or http:\/\/\) URL, not ftp:$/,
    );
    expect(withCluster({ ...cluster, 'certificate-authority': 'nope.crt' })).toMatch(
      /: clusters\[c\]\.certificate-authority \/.*\/nope\.crt cannot be read \(it does not exist\)$/,
    );
    expect(withCluster({ ...cluster, 'certificate-authority-data': 'not base64!' })).toMatch(
      /: clusters\[c\]\.certificate-authority-data is not valid base64$/,
    );
    expect(withCluster({ ...cluster, 'proxy-url': 'socks5://p:1080' })).toMatch(
      /: clusters\[c\]\.proxy-url uses socks5; Kiln supports http:\/\/ and https:\/\/ proxies \(not socks5\)$/,
    );
    expect(withCluster({ ...cluster, 'insecure-skip-tls-verify': 'yes' })).toMatch(
      /: clusters\[c\]\.insecure-skip-tls-verify must be true or false$/,
    );
    expect(withCluster(cluster, { 'client-certificate-data': b64('C') })).toMatch(
      /: users\[u\]\.client-key is missing: a client certificate needs client-key or client-key-data$/,
    );
    expect(withCluster(cluster, { token: 't', username: 'a', password: 'b' })).toMatch(
      /: users\[u\]\.username and a token are both given; a user authenticates one way$/,
    );
    expect(withCluster(cluster, { 'auth-provider': { name: 'gcp' } })).toMatch(
      /: users\[u\]\.auth-provider \(gcp\) is not supported .*use an exec plugin/,
    );
    expect(
      withCluster(cluster, { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1' } }),
    ).toMatch(
      /: users\[u\]\.exec\.interactiveMode is missing \(client\.authentication\.k8s\.io\/v1 requires Never or IfAvailable\)$/,
    );
    expect(
      withCluster(cluster, { exec: { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1alpha1' } }),
    ).toMatch(/: users\[u\]\.exec\.apiVersion is client\.authentication\.k8s\.io\/v1alpha1; Kiln speaks/);
  });
});

describe('exec credential plugins', () => {
  const fail = (what: string) => new ConfigurationError(what);

  test('the exec section: defaults, a relative command with a slash against the kubeconfig', () => {
    const at = { where: 'users[u].exec', base: '/etc/kube', fail };
    expect(
      parseExecConfig(
        {
          command: './bin/get-token',
          args: ['--cluster', 'prod'],
          env: [{ name: 'AWS_PROFILE', value: 'ci' }],
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          installHint: 'install it',
        },
        at,
      ),
    ).toEqual({
      command: '/etc/kube/bin/get-token',
      args: ['--cluster', 'prod'],
      env: [{ name: 'AWS_PROFILE', value: 'ci' }],
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      installHint: 'install it',
      provideClusterInfo: false,
      interactiveMode: 'IfAvailable',
    });
    expect(
      parseExecConfig(
        { command: 'aws', apiVersion: 'client.authentication.k8s.io/v1', interactiveMode: 'Never' },
        at,
      ).command,
    ).toBe('aws');
  });

  let d: string;
  beforeAll(() => {
    d = dir();
  });

  function provider(
    env: Record<string, string>,
    o: { now?: () => number; secrets?: string[]; exec?: Partial<ExecConfig> } = {},
  ): ExecCredentialProvider {
    const config: ExecConfig = {
      command: process.execPath,
      args: [PLUGIN],
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
      apiVersion: 'client.authentication.k8s.io/v1',
      provideClusterInfo: true,
      interactiveMode: 'Never',
      ...o.exec,
    };
    return new ExecCredentialProvider(config, {
      where: 'user "ci" in kubeconfig /k',
      cluster: {
        server: 'https://k:6443',
        caData: CA,
        tlsServerName: 'kubernetes',
        config: { region: 'eu-west-1' },
      },
      log: quietLogger,
      onSecret: (s) => o.secrets?.push(s),
      ...(o.now ? { now: o.now } : {}),
    });
  }
  const runs = (file: string): number => readFileSync(file, 'utf8').trim().split('\n').length;

  test('a token, KUBERNETES_EXEC_INFO with the cluster, the token masked', async () => {
    const info = join(d, 'info.json');
    const secrets: string[] = [];
    const p = provider({ PLUGIN_INFO: info }, { secrets });
    expect(await p.get()).toEqual({ token: 'token-1' });
    expect(secrets).toEqual(['token-1']);
    expect(JSON.parse(readFileSync(info, 'utf8'))).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://k:6443',
          'tls-server-name': 'kubernetes',
          'certificate-authority-data': b64(CA),
          config: { region: 'eu-west-1' },
        },
      },
    });
    // Without provideClusterInfo the plugin learns only that it may not interact.
    await provider({ PLUGIN_INFO: info }, { exec: { provideClusterInfo: false } }).get();
    expect(JSON.parse(readFileSync(info, 'utf8')).spec).toEqual({ interactive: false });
  });

  test('a client certificate and key', async () => {
    const cert = write(join(d, 'c.pem'), 'CERT PEM');
    const key = write(join(d, 'k.pem'), 'KEY PEM');
    const p = provider({ PLUGIN_MODE: 'cert', PLUGIN_CERT: cert, PLUGIN_KEY: key });
    expect(await p.get()).toEqual({ clientCertificateData: 'CERT PEM', clientKeyData: 'KEY PEM' });
  });

  test('kept until it expires, then run again; a 401 refresh runs it once per credential', async () => {
    const log = join(d, 'runs-expiry');
    let now = Date.parse('2030-01-01T00:00:00Z');
    const p = provider({ PLUGIN_RUNS: log, PLUGIN_EXPIRY: '2030-01-01T00:10:00Z' }, { now: () => now });
    const first = await p.get();
    expect(first).toEqual({ token: 'token-1', expiresAt: Date.parse('2030-01-01T00:10:00Z') });
    // Concurrent callers share one run; a kept credential needs none.
    now += 9 * 60_000;
    expect(await Promise.all([p.get(), p.get()])).toEqual([first, first]);
    expect(runs(log)).toBe(1);
    now += 2 * 60_000;
    const [a, b] = await Promise.all([p.get(), p.get()]);
    expect(a).toEqual({ token: 'token-2', expiresAt: Date.parse('2030-01-01T00:10:00Z') });
    expect(b).toBe(a);
    expect(runs(log)).toBe(2);
    // Refused: run again, once, however many requests saw the refusal.
    now = Date.parse('2030-01-01T00:05:00Z');
    const fresh = await p.refresh(a);
    expect(fresh.token).toBe('token-3');
    expect(await p.refresh(a)).toBe(fresh);
    expect(runs(log)).toBe(3);
  });

  test('a failing plugin: one line with its exit, the end of its stderr and the install hint', async () => {
    const p = provider(
      { PLUGIN_MODE: 'fail' },
      { exec: { installHint: 'Install the AWS CLI:\n  https://aws.amazon.com/cli/' } },
    );
    const e = await p.get().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ExecCredentialError);
    expect((e as Error).message).toBe(
      `the exec credential plugin '${process.execPath}' of user "ci" in kubeconfig /k exited with 3: loading credentials... error: the SSO session has expired run: aws sso login --profile ci. Install the AWS CLI: https://aws.amazon.com/cli/`,
    );
  });

  test('a plugin that is not installed, or answers wrongly', async () => {
    const missing = provider(
      {},
      {
        exec: {
          command: 'kiln-no-such-plugin',
          installHint: 'gcloud components install gke-gcloud-auth-plugin',
        },
      },
    );
    await expect(missing.get()).rejects.toThrow(
      'the exec credential plugin \'kiln-no-such-plugin\' of user "ci" in kubeconfig /k was not found on PATH. gcloud components install gke-gcloud-auth-plugin',
    );
    await expect(provider({ PLUGIN_MODE: 'garbage' }).get()).rejects.toThrow(
      / printed no ExecCredential JSON$/,
    );
    await expect(provider({ PLUGIN_MODE: 'wrong-version' }).get()).rejects.toThrow(
      / answered with apiVersion client\.authentication\.k8s\.io\/v1beta1, but the kubeconfig asks for client\.authentication\.k8s\.io\/v1$/,
    );
    await expect(provider({ PLUGIN_MODE: 'empty-status' }).get()).rejects.toThrow(
      / returned neither a token nor a client certificate and key$/,
    );
    await expect(provider({ PLUGIN_EXPIRY: 'soon' }).get()).rejects.toThrow(
      / returned an expirationTimestamp that is not a time: soon$/,
    );
    await expect(provider({}, { exec: { interactiveMode: 'Always' } }).get()).rejects.toThrow(
      /needs a terminal \(interactiveMode: Always\), which Kiln never gives a plugin/,
    );
    // v1beta1 plugins speak v1beta1.
    expect(
      await provider(
        { PLUGIN_API: 'client.authentication.k8s.io/v1beta1' },
        { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1' } },
      ).get(),
    ).toEqual({ token: 'token-1' });
  });
});
