/**
 * The edge of push-registry and promote without a registry: how `source` is read (local files or a registry),
 * how destinations and tags expand, and which credentials go to which registry.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifySource } from '../../actions/push-registry/src/action.js';
import {
  expandDestinations,
  explicitCredentials,
  parseTags,
} from '../../packages/core/src/action/registry.js';
import { formatReference } from '../../packages/core/src/image/reference.js';

const ws = mkdtempSync(join(tmpdir(), 'kiln-push-inputs-'));
mkdirSync(join(ws, 'build', 'oci'), { recursive: true });
writeFileSync(join(ws, 'image.tar'), '');

describe('classifySource', () => {
  test.each([
    ['oci:build/oci:v1', { kind: 'local', spec: `oci:${ws}/build/oci:v1` }],
    ['oci-archive:out/app.tar', { kind: 'local', spec: `oci-archive:${ws}/out/app.tar` }],
    ['docker-archive:/abs/app.tar:app:1', { kind: 'local', spec: 'docker-archive:/abs/app.tar:app:1' }],
    ['build/oci', { kind: 'local', spec: `${ws}/build/oci` }],
    ['build/oci:v1', { kind: 'local', spec: `${ws}/build/oci:v1` }],
    ['image.tar', { kind: 'local', spec: `${ws}/image.tar` }],
    ['./not/there', { kind: 'local', spec: `${ws}/not/there` }],
    ['dist/missing.tar.gz', { kind: 'local', spec: `${ws}/dist/missing.tar.gz` }],
  ])('%s is local', (value, expected) => {
    expect(classifySource(value, ws)).toEqual(expected);
  });

  test.each([
    ['docker://ghcr.io/org/app:1', 'ghcr.io/org/app:1'],
    ['ghcr.io/org/app:1', 'ghcr.io/org/app:1'],
    ['localhost:5000/app@sha256:' + 'a'.repeat(64), 'localhost:5000/app@sha256:' + 'a'.repeat(64)],
    ['ubuntu', 'docker.io/library/ubuntu'],
  ])('%s is a registry image', (value, ref) => {
    const s = classifySource(value, ws);
    expect(s.kind).toBe('registry');
    expect(s.kind === 'registry' && formatReference(s.ref)).toBe(ref);
  });

  test('unsupported transports and bad references name the input', () => {
    expect(() => classifySource('docker-daemon:app:1', ws)).toThrow(
      "Input 'source': the 'docker-daemon:' transport is not supported",
    );
    expect(() => classifySource('docker://Org/App', ws)).toThrow("Input 'source': invalid image reference");
    expect(() => classifySource('oci:', ws)).toThrow("Input 'source': image source 'oci:' has no path");
  });
});

describe('expandDestinations', () => {
  const names = (values: string[], tags: string[], defaultTag?: string) =>
    expandDestinations(values, tags, { inputName: 'targets', defaultTag }).map(formatReference);

  test('tags go to every repository; a given tag is kept; duplicates dropped', () => {
    expect(names(['h.io/a', 'g.io/b:x', 'h.io/a:1'], ['1', 'latest'])).toEqual([
      'h.io/a:1',
      'h.io/a:latest',
      'g.io/b:x',
      'g.io/b:1',
      'g.io/b:latest',
    ]);
  });
  test('without tags: the default tag, else digest only', () => {
    expect(names(['h.io/a'], [], '2.0')).toEqual(['h.io/a:2.0']);
    expect(names(['h.io/a'], [])).toEqual(['h.io/a']);
    const pinned = `h.io/a@sha256:${'b'.repeat(64)}`;
    expect(names([pinned], [], '2.0')).toEqual([pinned]);
    expect(names([pinned], ['1'])).toEqual([`h.io/a:1@sha256:${'b'.repeat(64)}`]);
  });
  test('errors name the input', () => {
    expect(() => names(['h.io/A'], [])).toThrow("Input 'targets': invalid image reference 'h.io/A'");
    expect(() => parseTags(['ok', '.bad'])).toThrow(`Input 'tags': ".bad" is not a valid tag`);
  });
});

describe('explicitCredentials', () => {
  const base = {
    'registry-auth': {},
    'insecure-registries': [],
    concurrency: 4,
    timeout: 1000,
  };
  const secrets: string[] = [];
  const opts = (source: string | undefined, destinations: string[]) => ({
    sourceRegistry: source,
    destinationRegistries: destinations,
    setSecret: (v: string) => secrets.push(v),
  });

  test('registry-auth wins; username/password go to destination registries; source-* to the source', () => {
    const creds = explicitCredentials(
      {
        ...base,
        username: 'dst',
        password: 'dst-pw',
        'source-username': 'src',
        'source-password': 'src-pw',
        'registry-auth': { 'ghcr.io': 'bot:gh:token=x' },
      },
      opts('harbor.example.com', ['ghcr.io', 'quay.io']),
    );
    expect(creds).toEqual({
      'ghcr.io': { username: 'bot', password: 'gh:token=x', source: 'registry-auth' },
      'quay.io': { username: 'dst', password: 'dst-pw', source: 'inputs username/password' },
      'harbor.example.com': {
        username: 'src',
        password: 'src-pw',
        source: 'inputs source-username/source-password',
      },
    });
    expect(secrets).toContain('gh:token=x');
  });
  test('the same registry as source and destination gets the destination credentials (push needs more)', () => {
    const creds = explicitCredentials(
      { ...base, username: 'dst', password: 'p1', 'source-username': 'src', 'source-password': 'p2' },
      opts('h.io', ['h.io']),
    );
    expect(creds).toEqual({
      'h.io': { username: 'dst', password: 'p1', source: 'inputs username/password' },
    });
  });
  test('incomplete pairs and malformed entries are input errors that never show the secret', () => {
    expect(() => explicitCredentials({ ...base, username: 'u' }, opts(undefined, ['h.io']))).toThrow(
      "Input 'password': is required with username.",
    );
    expect(() =>
      explicitCredentials({ ...base, 'source-password': 'pw' }, opts(undefined, ['h.io'])),
    ).toThrow("Input 'source-username': is required with source-password");
    const err = (() => {
      try {
        explicitCredentials({ ...base, 'registry-auth': { 'h.io': 's3cret-only' } }, opts(undefined, []));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toBe(
      "Input 'registry-auth': the entry for 'h.io' is not user:password (value hidden); expected one host=user:password per line.",
    );
  });
});
