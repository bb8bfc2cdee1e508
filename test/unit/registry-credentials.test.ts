/** Credential resolution (explicit → docker config → CI), key normalisation, helpers, and the protocol helpers. */
import { describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigurationError } from '../../packages/core/src/errors.js';
import {
  ciCredentials,
  createLimiter,
  CredentialStore,
  DigestMismatchError,
  DigestVerifier,
  normaliseRegistryKey,
  parseManifest,
  resolveCredentials,
  withDigestParam,
} from '../../packages/core/src/registry/index.js';
import { shortenUrls } from '../../packages/core/src/registry/transport.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function configDir(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-creds-'));
  await writeFile(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

describe('credentials', () => {
  test('registry keys are normalised: scheme, path and case dropped; Docker Hub aliases folded', () => {
    expect(normaliseRegistryKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normaliseRegistryKey('registry-1.docker.io')).toBe('docker.io');
    expect(normaliseRegistryKey('HTTP://Reg.Example.com:5000/v2/')).toBe('reg.example.com:5000');
    expect(normaliseRegistryKey('ghcr.io')).toBe('ghcr.io');
  });

  test('docker config auths: base64 auth, username/password, identitytoken; every secret to onSecret', async () => {
    const dir = await configDir({
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hubuser:hub:pass') },
        'Registry.Example.com': { username: 'u', password: 'p' },
        'id.example.com': { username: 'u2', identitytoken: 'refresh' },
        'empty.example.com': {},
      },
    });
    const secrets: string[] = [];
    const opts = { dockerConfigDir: dir, env: {}, onSecret: (s: string) => secrets.push(s) };
    expect(await resolveCredentials('docker.io', opts)).toEqual({
      username: 'hubuser',
      password: 'hub:pass',
      source: join(dir, 'config.json'),
    });
    expect(await resolveCredentials('registry.example.com', opts)).toMatchObject({
      username: 'u',
      password: 'p',
    });
    expect(await resolveCredentials('id.example.com', opts)).toMatchObject({
      username: 'u2',
      identityToken: 'refresh',
    });
    expect(await resolveCredentials('empty.example.com', opts)).toBeUndefined();
    expect(secrets).toEqual(expect.arrayContaining(['hub:pass', 'p', 'refresh', b64('hubuser:hub:pass')]));
  });

  test('order: explicit, then docker config, then CI variables; DOCKER_CONFIG is honoured', async () => {
    const dir = await configDir({ auths: { 'gitlab.example.com:5050': { auth: b64('cfg:cfgpass') } } });
    const env = {
      DOCKER_CONFIG: dir,
      CI_REGISTRY: 'gitlab.example.com:5050',
      CI_REGISTRY_USER: 'gitlab-ci-token',
      CI_REGISTRY_PASSWORD: 'job-pass',
    };
    expect(
      await resolveCredentials('gitlab.example.com:5050', {
        env,
        explicit: { 'gitlab.example.com:5050': { username: 'me', password: 'explicit' } },
      }),
    ).toMatchObject({ password: 'explicit', source: 'explicit' });
    expect(await resolveCredentials('gitlab.example.com:5050', { env })).toMatchObject({
      password: 'cfgpass',
    });
    expect(
      await resolveCredentials('gitlab.example.com:5050', {
        env: { ...env, DOCKER_CONFIG: join(dir, 'none') },
      }),
    ).toMatchObject({ username: 'gitlab-ci-token', password: 'job-pass', source: 'CI_REGISTRY_PASSWORD' });
  });

  test('CI: GitLab job token, dependency proxy, GITHUB_TOKEN for ghcr.io only', () => {
    expect(
      ciCredentials('gitlab.example.com', { CI_REGISTRY: 'gitlab.example.com', CI_JOB_TOKEN: 'jt' }),
    ).toEqual({
      username: 'gitlab-ci-token',
      password: 'jt',
      source: 'CI_JOB_TOKEN',
    });
    expect(
      ciCredentials('gitlab.example.com:443', {
        CI_DEPENDENCY_PROXY_SERVER: 'gitlab.example.com:443',
        CI_DEPENDENCY_PROXY_USER: 'dp',
        CI_DEPENDENCY_PROXY_PASSWORD: 'dpp',
      }),
    ).toMatchObject({ username: 'dp', password: 'dpp' });
    expect(ciCredentials('ghcr.io', { GITHUB_TOKEN: 'gh', GITHUB_ACTOR: 'octo' })).toEqual({
      username: 'octo',
      password: 'gh',
      source: 'GITHUB_TOKEN',
    });
    expect(ciCredentials('docker.io', { GITHUB_TOKEN: 'gh' })).toBeUndefined();
  });

  test('helpers: credsStore, <token> user = identity token, not found = none, missing program = clear error', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'kiln-helper-'));
    const script = join(bin, 'docker-credential-store');
    await writeFile(
      script,
      [
        '#!/bin/sh',
        'IFS= read -r server',
        'case "$server" in',
        `  https://index.docker.io/v1/) printf '{"Username":"<token>","Secret":"idtok"}' ;;`,
        `  ghcr.io) printf '{"Username":"octo","Secret":"ghp"}' ;;`,
        '  *) echo "credentials not found in native keychain"; exit 1 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    await chmod(script, 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const dir = await configDir({
      credsStore: 'store',
      auths: { 'fallback.example.com': { auth: b64('f:fp') } },
    });
    const store = new CredentialStore({ dockerConfigDir: dir, env });
    expect(await store.get('docker.io')).toEqual({
      identityToken: 'idtok',
      source: 'docker-credential-store',
    });
    expect(await store.get('ghcr.io')).toMatchObject({ username: 'octo', password: 'ghp' });
    expect(await store.get('fallback.example.com')).toMatchObject({ username: 'f', password: 'fp' });
    expect(await store.get('other.example.com')).toBeUndefined();

    const missing = await configDir({ credHelpers: { 'x.example.com': 'nope' } });
    await expect(resolveCredentials('x.example.com', { dockerConfigDir: missing, env })).rejects.toThrow(
      "names credential helper 'nope' for x.example.com, but 'docker-credential-nope' is not on PATH",
    );
  });

  test('a malformed config is a ConfigurationError that does not quote the file', async () => {
    const dir = await configDir('{"auths": {"a": {"auth": "c2VjcmV0LXN0dWZm"}} oops');
    const err = await resolveCredentials('a', { dockerConfigDir: dir, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toBe(`the docker config ${join(dir, 'config.json')} is not valid JSON`);
    const noColon = await configDir({ auths: { a: { auth: b64('nocolon') } } });
    await expect(resolveCredentials('a', { dockerConfigDir: noColon, env: {} })).rejects.toThrow(
      "'auth' is not base64 of 'user:password'",
    );
  });
});

describe('protocol helpers', () => {
  test('withDigestParam keeps an existing query byte for byte', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    expect(withDigestParam('http://r/v2/x/blobs/uploads/u', d)).toBe(
      `http://r/v2/x/blobs/uploads/u?digest=sha256%3A${'a'.repeat(64)}`,
    );
    expect(withDigestParam('/v2/x/blobs/uploads/u?_state=ab%3D%3D', d)).toBe(
      `/v2/x/blobs/uploads/u?_state=ab%3D%3D&digest=sha256%3A${'a'.repeat(64)}`,
    );
    expect(shortenUrls('PUT http://r/v2/x/blobs/uploads/u?_state=abc: connection reset')).toBe(
      'PUT http://r/v2/x/blobs/uploads/u: connection reset',
    );
  });

  test('DigestVerifier passes matching content and holds back the last chunk of wrong content', async () => {
    const data = [Buffer.from('hello '), Buffer.from('world')];
    const digest = `sha256:${createHash('sha256').update(Buffer.concat(data)).digest('hex')}`;
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(data),
      new DigestVerifier(digest, 11),
      async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) out.push(c);
      },
    );
    expect(Buffer.concat(out).toString()).toBe('hello world');

    const got: Buffer[] = [];
    const wrong = pipeline(
      Readable.from([Buffer.from('hello '), Buffer.from('WORLD')]),
      new DigestVerifier(digest, 11),
      async (src: AsyncIterable<Buffer>) => {
        for await (const c of src) got.push(c);
      },
    );
    await expect(wrong).rejects.toThrow(DigestMismatchError);
    expect(Buffer.concat(got).toString()).not.toContain('WORLD'); // the last chunk never left
    await expect(
      pipeline(Readable.from([Buffer.from('hello world!')]), new DigestVerifier(digest, 11), async (s) => {
        for await (const _ of s as AsyncIterable<Buffer>) void _;
      }),
    ).rejects.toThrow('larger than its declared size');
  });

  test('parseManifest: types from the body, the header or the shape; schema 1 refused', () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect(parseManifest(index).kind).toBe('index');
    expect(parseManifest(index, 'application/vnd.docker.distribution.manifest.list.v2+json').mediaType).toBe(
      'application/vnd.docker.distribution.manifest.list.v2+json',
    );
    const image = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'c', digest: 'sha256:1', size: 1 },
        layers: [],
      }),
    );
    expect(parseManifest(image, 'application/json')).toMatchObject({
      kind: 'image',
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    expect(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 1, fsLayers: [] })))).toThrow(
      /schema 1/,
    );
  });

  test('the limiter runs at most N tasks at once, in order', async () => {
    const limit = createLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) =>
        limit(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(i);
          await new Promise((r) => setImmediate(r));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });
});
