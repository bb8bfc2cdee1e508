/**
 * Registry auth against a scripted registry + token server (node:http): challenge parsing, one token for
 * several scopes, re-exchange when a challenge asks for more, default expiry, `access_token`, identity tokens,
 * and refusing to send credentials to a plain-http realm elsewhere.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  parseScope,
  parseWwwAuthenticate,
  pickChallenge,
  RegistryClient,
  RegistryError,
  ScopeSet,
  type RegistryClientOptions,
} from '../../packages/core/src/registry/index.js';

describe('WWW-Authenticate', () => {
  test('quoted values with commas and spaces, escapes, unquoted realm, several challenges', () => {
    const header =
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",' +
      'scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope", ' +
      'Basic realm="say \\"hi\\", friend"';
    expect(parseWwwAuthenticate(header)).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example.com/token',
          service: 'registry.example.com',
          scope: 'repository:a/b:pull,push repository:c:pull',
          error: 'insufficient_scope',
        },
      },
      { scheme: 'basic', params: { realm: 'say "hi", friend' } },
    ]);
    expect(parseWwwAuthenticate('BEARER Realm=https://x/token , Service = svc')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://x/token', service: 'svc' } },
    ]);
    expect(pickChallenge(parseWwwAuthenticate('Basic realm="r", Bearer realm="t"'))?.scheme).toBe('bearer');
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
  });

  test('scopes: parsed, merged per resource, push scopes first, coverage', () => {
    expect(parseScope('repository:team/app:push,pull')).toEqual({
      type: 'repository',
      name: 'team/app',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('nonsense')).toBeUndefined();
    const set = new ScopeSet(['repository:src:pull', 'repository:dst:pull']);
    expect(set.add('repository:dst:push')).toBe(true);
    expect(set.add('repository:dst:pull')).toBe(false);
    expect(set.toStrings()).toEqual(['repository:dst:pull,push', 'repository:src:pull']);
    expect(set.covers([{ type: 'repository', name: 'src', actions: ['pull'] }])).toBe(true);
    expect(set.covers([{ type: 'repository', name: 'src', actions: ['push'] }])).toBe(false);
    expect(new ScopeSet(['b:x:pull', 'a:y:pull']).key()).toBe(new ScopeSet(['a:y:pull', 'b:x:pull']).key());
  });
});

interface TokenCall {
  method: string;
  scopes: string[];
  basic?: string;
  form?: Record<string, string>;
}

/**
 * A fake registry with its token server on the same port. Tokens are `tok:<scopes joined by space>`; the
 * manifest HEAD of `<repo>` answers 200 when the token grants pull on it, and `needs-extra` also requires pull
 * on `extra` (announced in the challenge, as a registry asking for more than the client knew it needed).
 */
function fakeRegistry(
  opts: { tokenBody?: (scopes: string[]) => object; realm?: (base: string) => string } = {},
) {
  const calls: TokenCall[] = [];
  const seen: Array<{ path: string; authorization?: string }> = [];
  let base = '';
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (url.pathname === '/token') {
        const form = req.method === 'POST' ? Object.fromEntries(new URLSearchParams(body)) : undefined;
        const scopes = form
          ? (form.scope ?? '').split(' ').filter(Boolean)
          : url.searchParams.getAll('scope');
        calls.push({
          method: req.method ?? '',
          scopes,
          basic: req.headers.authorization,
          ...(form ? { form } : {}),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(opts.tokenBody?.(scopes) ?? { access_token: `tok:${scopes.join(' ')}` }));
        return;
      }
      seen.push({ path: url.pathname, authorization: req.headers.authorization });
      const m = /^\/v2\/(.+)\/manifests\/.+$/.exec(url.pathname);
      const repo = m?.[1] ?? '';
      const needed = [
        `repository:${repo}:pull`,
        ...(repo === 'needs-extra' ? ['repository:extra:pull'] : []),
      ];
      const granted = (req.headers.authorization ?? '').replace(/^Bearer tok:/, '').split(' ');
      const ok =
        req.headers.authorization?.startsWith('Bearer tok:') &&
        needed.every((n) =>
          granted.some((g) => g === n || (g.startsWith(n.replace(/:pull$/, ':')) && g.includes('pull'))),
        );
      if (!ok) {
        const realm = opts.realm ? opts.realm(base) : `${base}/token`;
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="${realm}",service="fake",scope="${needed.join(' ')}"${req.headers.authorization ? ',error="insufficient_scope"' : ''}`,
        });
        res.end();
        return;
      }
      res.writeHead(404);
      res.end();
    });
  });
  return {
    calls,
    seen,
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`);
        }),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('bearer tokens', () => {
  let emptyConfig: string;
  beforeAll(async () => {
    emptyConfig = await mkdtemp(join(tmpdir(), 'kiln-auth-'));
  });
  afterAll(async () => {
    await closeHttpPools();
  });

  const client = (host: string, extra: Partial<RegistryClientOptions> = {}) =>
    new RegistryClient({
      logger: new MemoryLogger(),
      env: {},
      dockerConfigDir: emptyConfig,
      explicitCredentials: { [host]: { username: 'bob', password: 's3cret' } },
      retry: { baseDelayMs: 1, maxDelayMs: 2 },
      ...extra,
    });

  test('declared scopes in one token, push first; re-exchange when a challenge asks for more; access_token; 60 s default', async () => {
    const fake = fakeRegistry();
    const host = await fake.start();
    try {
      let now = 1_000_000;
      const c = client(host, { now: () => now });
      c.declareScopes(host, ['repository:src:pull', 'repository:dst:pull,push']);
      await c.headManifest({ registry: host, repository: 'src' }, 'x');
      expect(fake.calls).toHaveLength(1);
      expect(fake.calls[0]).toMatchObject({
        method: 'GET',
        scopes: ['repository:dst:pull,push', 'repository:src:pull'],
        basic: `Basic ${Buffer.from('bob:s3cret').toString('base64')}`,
      });
      // The anonymous first request, then the authorised one.
      expect(fake.seen.map((s) => s.authorization === undefined)).toEqual([true, false]);

      // The registry asks for more than the request needed: the token is re-exchanged for the union.
      await c.headManifest({ registry: host, repository: 'needs-extra' }, 'x');
      expect(fake.calls.at(-1)!.scopes).toEqual([
        'repository:dst:pull,push',
        'repository:src:pull',
        'repository:needs-extra:pull',
        'repository:extra:pull',
      ]);
      const calls = fake.calls.length;
      await c.headManifest({ registry: host, repository: 'extra' }, 'x');
      expect(fake.calls).toHaveLength(calls); // covered by the cached token

      // No expires_in: 60 s, refreshed a little before.
      now += 50_000;
      await c.headManifest({ registry: host, repository: 'extra' }, 'x');
      expect(fake.calls).toHaveLength(calls);
      now += 6_000;
      await c.headManifest({ registry: host, repository: 'extra' }, 'x');
      expect(fake.calls).toHaveLength(calls + 1);
    } finally {
      await fake.close();
    }
  });

  test('an identity token uses the OAuth2 refresh-token grant; every token is handed to onSecret', async () => {
    const fake = fakeRegistry({
      tokenBody: (scopes) => ({ token: `tok:${scopes.join(' ')}`, expires_in: 300 }),
    });
    const host = await fake.start();
    try {
      const secrets: string[] = [];
      const c = client(host, {
        explicitCredentials: { [host]: { identityToken: 'refresh-me' } },
        onSecret: (s) => secrets.push(s),
      });
      await c.headManifest({ registry: host, repository: 'app' }, 'x');
      expect(fake.calls).toEqual([
        {
          method: 'POST',
          scopes: ['repository:app:pull'],
          basic: undefined,
          form: {
            grant_type: 'refresh_token',
            refresh_token: 'refresh-me',
            service: 'fake',
            scope: 'repository:app:pull',
            client_id: 'kiln',
          },
        },
      ]);
      expect(secrets).toEqual(['refresh-me', 'tok:repository:app:pull']);
    } finally {
      await fake.close();
    }
  });

  test('credentials are not sent to a plain-http realm on another host; a token server without a token fails clearly', async () => {
    const far = fakeRegistry({ realm: () => 'http://auth.example.invalid/token' });
    const host = await far.start();
    try {
      const err = (await client(host)
        .headManifest({ registry: host, repository: 'app' }, 'x')
        .catch((e: unknown) => e)) as RegistryError;
      expect(err).toBeInstanceOf(RegistryError);
      expect(err.message).toContain('refusing to send credentials');
      expect(err.message).not.toContain('s3cret');
    } finally {
      await far.close();
    }
    const empty = fakeRegistry({ tokenBody: () => ({ nothing: true }) });
    const host2 = await empty.start();
    try {
      await expect(client(host2).headManifest({ registry: host2, repository: 'app' }, 'x')).rejects.toThrow(
        'answered without a token',
      );
    } finally {
      await empty.close();
    }
  });
});
