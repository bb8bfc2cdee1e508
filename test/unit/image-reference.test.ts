import { describe, expect, test } from '@jest/globals';

import { ConfigurationError, InputError } from '../../packages/core/src/errors.js';
import {
  effectiveTag,
  familiarName,
  formatReference,
  isDigest,
  isLoopbackRegistry,
  isValidTag,
  parseImageReference,
  pinnedReference,
  pullReference,
  registryApiHost,
  repositoryName,
  tryParseImageReference,
  withDigest,
  withTag,
  type ImageReference,
} from '../../packages/core/src/image/reference.js';

// Digests of the empty string.
const HEX256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HEX384 =
  '38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b';
const HEX512 =
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';
const D256 = `sha256:${HEX256}`;
const D384 = `sha384:${HEX384}`;
const D512 = `sha512:${HEX512}`;
const BLAKE3 = `blake3:${'0123456789abcdef'.repeat(4)}`;
const CUSTOM = `x-custom.algo+b64u:${'Zz09=_-'.repeat(5)}`;
const OTHER256 = `sha256:${'0'.repeat(63)}1`;

type Row = [
  input: string,
  registry: string,
  repository: string,
  tag: string | undefined,
  digest: string | undefined,
];

const VALID: Row[] = [
  // Docker Hub normalisation
  ['ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined],
  ['ubuntu:22.04', 'docker.io', 'library/ubuntu', '22.04', undefined],
  ['library/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined],
  ['docker.io/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined],
  ['docker.io/library/ubuntu:latest', 'docker.io', 'library/ubuntu', 'latest', undefined],
  ['index.docker.io/ubuntu', 'docker.io', 'library/ubuntu', undefined, undefined],
  ['index.docker.io/org/app:1', 'docker.io', 'org/app', '1', undefined],
  ['registry-1.docker.io/org/app:1', 'docker.io', 'org/app', '1', undefined],
  ['Docker.IO/nginx', 'docker.io', 'library/nginx', undefined, undefined],
  ['org/app', 'docker.io', 'org/app', undefined, undefined],
  ['org/team/app:1.0', 'docker.io', 'org/team/app', '1.0', undefined],
  // Registries
  ['ghcr.io/org/app:v1.2.3', 'ghcr.io', 'org/app', 'v1.2.3', undefined],
  ['registry:5000/app', 'registry:5000', 'app', undefined, undefined],
  ['registry:5000/app:5000', 'registry:5000', 'app', '5000', undefined],
  ['localhost/app', 'localhost', 'app', undefined, undefined],
  ['localhost:5000/a/b:1.0', 'localhost:5000', 'a/b', '1.0', undefined],
  ['LOCALHOST:5000/app', 'localhost:5000', 'app', undefined, undefined],
  ['127.0.0.1:5000/app', '127.0.0.1:5000', 'app', undefined, undefined],
  ['192.168.0.1/app', '192.168.0.1', 'app', undefined, undefined],
  ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined],
  ['[::1]/app:dev', '[::1]', 'app', 'dev', undefined],
  [
    '[FC00:1:2:3:4:5:6:7]:5000/library/debian:bookworm',
    '[fc00:1:2:3:4:5:6:7]:5000',
    'library/debian',
    'bookworm',
    undefined,
  ],
  ['GHCR.IO/org/app', 'ghcr.io', 'org/app', undefined, undefined],
  ['My-Registry.Example.com:443/team/app', 'my-registry.example.com:443', 'team/app', undefined, undefined],
  [
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/svc:abc',
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    'svc',
    'abc',
    undefined,
  ],
  // Tags and digests
  [`app:1.0@${D256}`, 'docker.io', 'library/app', '1.0', D256],
  [`app@${D256}`, 'docker.io', 'library/app', undefined, D256],
  [`ghcr.io/org/app@${D512}`, 'ghcr.io', 'org/app', undefined, D512],
  [`localhost:5000/app:1.0@${D384}`, 'localhost:5000', 'app', '1.0', D384],
  [`app@${BLAKE3}`, 'docker.io', 'library/app', undefined, BLAKE3],
  [`app@${CUSTOM}`, 'docker.io', 'library/app', undefined, CUSTOM],
  ['app:_under.score-1', 'docker.io', 'library/app', '_under.score-1', undefined],
  ['app:UPPER_Case', 'docker.io', 'library/app', 'UPPER_Case', undefined],
  [`app:${'t'.repeat(128)}`, 'docker.io', 'library/app', 't'.repeat(128), undefined],
  // Path components and separators
  ['a', 'docker.io', 'library/a', undefined, undefined],
  ['a/b/c/d/e', 'docker.io', 'a/b/c/d/e', undefined, undefined],
  ['org/my.app_name__x---y/sub-image', 'docker.io', 'org/my.app_name__x---y/sub-image', undefined, undefined],
  ['my.org/app', 'my.org', 'app', undefined, undefined],
  ['0rg/9app', 'docker.io', '0rg/9app', undefined, undefined],
  [`ghcr.io/${'a'.repeat(255)}`, 'ghcr.io', 'a'.repeat(255), undefined, undefined],
  [`org/${'b'.repeat(251)}`, 'docker.io', `org/${'b'.repeat(251)}`, undefined, undefined],
  [`docker.io/${HEX256}`, 'docker.io', `library/${HEX256}`, undefined, undefined],
  // Single components that look like hosts are repositories on Docker Hub (docker reads them the same way)
  ['foo.bar', 'docker.io', 'library/foo.bar', undefined, undefined],
  ['ghcr.io', 'docker.io', 'library/ghcr.io', undefined, undefined],
  ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
];

describe('parseImageReference: valid references', () => {
  test.each(VALID)('%s', (input, registry, repository, tag, digest) => {
    const ref = parseImageReference(input);
    expect(ref).toEqual({ registry, repository, tag, digest, original: input });
    // "No tag given" is distinguishable from an explicit tag: the property is absent, not set to 'latest'.
    expect('tag' in ref).toBe(tag !== undefined);
    expect('digest' in ref).toBe(digest !== undefined);
  });

  test.each(VALID)('round-trips through formatReference and familiarName: %s', (input) => {
    const ref = parseImageReference(input);
    const { original: _o1, ...canonical } = ref;
    const { original: _o2, ...again } = parseImageReference(formatReference(ref));
    const { original: _o3, ...familiar } = parseImageReference(familiarName(ref));
    expect(again).toEqual(canonical);
    expect(familiar).toEqual(canonical);
  });
});

const INVALID: [input: string, message: RegExp][] = [
  ['', /it is empty/],
  ['   ', /blank/],
  [' ubuntu', /whitespace/],
  ['ubuntu\n', /whitespace/],
  ['ubu ntu:1', /whitespace/],
  ['ubuntu:', /':' must be followed by a tag/],
  ['ghcr.io/org/app:', /':' must be followed by a tag/],
  ['app@', /'@' must be followed by a digest/],
  ['app@sha256:abc', /sha256 digest must be exactly 64 lowercase hex characters.*got 3/],
  [`app@sha256:${HEX256.slice(1)}`, /exactly 64 .*got 63/],
  [`app@sha256:${HEX256}0`, /exactly 64 .*got 65/],
  [`app@sha256:${HEX256.toUpperCase()}`, /upper-case hex is not allowed/],
  [`app@sha512:${HEX256}`, /sha512 digest must be exactly 128/],
  [`app@sha256:${HEX256.slice(1)}g`, /exactly 64 lowercase hex/],
  ['app:1.0@sha256:', /got 0/],
  [`app:@${D256}`, /':' must be followed by a tag/],
  ['app@sha256', /must have the form algorithm:hex/],
  ['app@md5:abc123', /too short: at least 32 characters/],
  [`app@SHA256:${HEX256}`, /digest algorithm 'SHA256' is not valid/],
  [`app@x..y:${HEX256}`, /digest algorithm 'x\.\.y' is not valid/],
  [`app@custom:${'a'.repeat(31)}!`, /other than letters, digits/],
  [`app@${D256}@${D256}`, /more than one '@'/],
  [`@${D256}`, /no repository name before '@'/],
  [':latest', /no repository name before ':latest'/],
  ['Ubuntu', /repository names must be lowercase/],
  ['org/App:1.0', /repository names must be lowercase/],
  ['ghcr.io/Org/app', /repository names must be lowercase/],
  ['MyOrg/app', /repository names must be lowercase.*registry host needs a '\.' or a ':port'/],
  ['http://ghcr.io/org/app', /URL scheme \('http:\/\/'\); write just 'ghcr\.io\/org\/app'/],
  ['https://index.docker.io/ubuntu', /URL scheme \('https:\/\/'\)/],
  ['docker://alpine:3', /URL scheme \('docker:\/\/'\)/],
  [`app:${'t'.repeat(129)}`, /tag is 129 characters long; at most 128/],
  ['app:-tag', /tag '-tag' must start with a letter, digit or '_'/],
  ['app:.hidden', /must start with a letter, digit or '_'/],
  ['app:v1+build', /tag 'v1\+build' may only contain/],
  ['ubuntu:22.04:extra', /component 'ubuntu:22\.04' contains ':'/],
  ['org//app', /empty path component \('\/\/'\)/],
  ['ghcr.io//app', /empty path component \('\/\/'\)/],
  ['/app', /must not start with '\/'/],
  ['app/', /must not end with '\/'/],
  ['ghcr.io/org/', /must not end with '\/'/],
  ['ghcr.io/', /no repository after the registry 'ghcr\.io\/'/],
  ['-app', /'-app' must start and end with a lowercase letter or digit/],
  ['app-', /must start and end/],
  ['org/_app', /'_app' must start and end/],
  ['ghcr.io/org/app.', /'app\.' must start and end/],
  ['a..b', /separator '\.\.'/],
  ['a___b', /separator '___'/],
  ['org/a_.b', /separator '_\.'/],
  ['a-.b', /separator '-\.'/],
  ['a$b', /contains '\$'/],
  ['registry:port/app', /registry port 'port' is not a number/],
  ['registry:99999/app', /port 99999 is out of range/],
  ['registry:0/app', /port 0 is out of range/],
  ['localhost:/app', /empty port/],
  ['my_registry.io/app', /registry host 'my_registry\.io' is not a valid host name/],
  ['my.org_name/app', /registry host 'my\.org_name' is not a valid host name/],
  ['-docker.io/app', /'-docker\.io' is not a valid host name/],
  ['ghcr..io/app', /empty label/],
  [':5000/app', /no host name before ':'/],
  ['fc00::1:5000/debian', /more than one ':'.*brackets, e\.g\. '\[fc00::1\]:5000'/],
  ['[fc00::1]', /registry '\[fc00::1\]' must be followed by '\/repository'/],
  ['[fc00::1]:5000', /must be followed by '\/repository'/],
  ['[fe80::1%eth0]:5000/app', /not a valid IPv6 address/],
  ['[2001:db8::192.0.2.33]:5000/app', /not a valid IPv6 address/],
  ['[::1:5000/app', /'\[' without a closing '\]'/],
  ['[::1]x/app', /unexpected text after '\]'/],
  [HEX256, /image ID, not a repository name/],
  [`ghcr.io/${'a'.repeat(256)}`, /repository path is 256 characters long; at most 255/],
  ['a'.repeat(250), /repository path is 258 characters long/],
];

describe('parseImageReference: invalid references', () => {
  test.each(INVALID)('%j', (input, message) => {
    let error: unknown;
    try {
      parseImageReference(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const text = (error as Error).message;
    expect(text).toMatch(message);
    // The value is quoted (control characters made visible) and the expected form is stated.
    expect(text).toContain(`invalid image reference '${input.replace(/\n/g, '\\n').slice(0, 200)}`);
    expect(text).toContain('expected [registry[:port]/]repository[:tag][@digest]');
    expect(tryParseImageReference(input)).toBeUndefined();
  });

  test('names the input when inputName is given', () => {
    expect(() => parseImageReference('Org/App', { inputName: 'image' })).toThrow(InputError);
    expect(() => parseImageReference('Org/App', { inputName: 'image' })).toThrow(
      /^Input 'image': invalid image reference 'Org\/App': repository names must be lowercase/,
    );
  });

  test('without inputName the message has no input prefix', () => {
    expect(() => parseImageReference('app:')).toThrow(/^invalid image reference 'app:': /);
  });

  test('a non-string is reported, not crashed on', () => {
    expect(() => parseImageReference(undefined as unknown as string)).toThrow(
      /expected a string, got undefined/,
    );
  });

  test('a very long value is shortened in the message', () => {
    const input = `ghcr.io/${'a'.repeat(400)}`;
    expect(() => parseImageReference(input)).toThrow(/'ghcr\.io\/a+…'/);
  });

  test('tryParseImageReference returns the same reference as parseImageReference', () => {
    expect(tryParseImageReference('ghcr.io/org/app:1')).toEqual(parseImageReference('ghcr.io/org/app:1'));
  });
});

describe('formatting', () => {
  test.each([
    ['ubuntu', 'docker.io/library/ubuntu'],
    ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04'],
    ['GHCR.io/org/app:1', 'ghcr.io/org/app:1'],
    ['index.docker.io/org/app', 'docker.io/org/app'],
    [`app:1.0@${D256}`, `docker.io/library/app:1.0@${D256}`],
    ['[::1]:5000/app', '[::1]:5000/app'],
  ])('formatReference(%s) = %s', (input, expected) => {
    expect(formatReference(parseImageReference(input))).toBe(expected);
  });

  test.each([
    ['ubuntu', 'ubuntu'],
    ['docker.io/library/ubuntu:22.04', 'ubuntu:22.04'],
    [`org/app@${D256}`, `org/app@${D256}`],
    [`index.docker.io/org/app:1@${D256}`, `org/app:1@${D256}`],
    ['library/team/app', 'library/team/app'],
    ['ghcr.io/org/app:1', 'ghcr.io/org/app:1'],
    ['localhost:5000/app', 'localhost:5000/app'],
    ['ghcr.io/library/app', 'ghcr.io/library/app'],
    [`docker.io/${HEX256}`, `library/${HEX256}`],
    [`docker.io/${HEX256}:1`, `${HEX256}:1`],
  ])('familiarName(%s) = %s', (input, expected) => {
    expect(familiarName(parseImageReference(input))).toBe(expected);
  });

  test.each([
    ['ubuntu:22.04', 'docker.io/library/ubuntu'],
    [`ghcr.io/org/app:1@${D256}`, 'ghcr.io/org/app'],
  ])('repositoryName(%s) = %s', (input, expected) => {
    expect(repositoryName(parseImageReference(input))).toBe(expected);
  });

  test.each([
    ['ubuntu', 'latest', 'docker.io/library/ubuntu:latest'],
    ['ubuntu:22.04', '22.04', 'docker.io/library/ubuntu:22.04'],
    [`app:1.0@${D256}`, '1.0', `docker.io/library/app@${D256}`],
    [`ghcr.io/org/app@${D256}`, 'latest', `ghcr.io/org/app@${D256}`],
  ])('effectiveTag / pullReference of %s', (input, tag, pull) => {
    const ref = parseImageReference(input);
    expect(effectiveTag(ref)).toBe(tag);
    expect(pullReference(ref)).toBe(pull);
  });
});

describe('pinnedReference', () => {
  test.each([
    [`app:1.0@${D256}`, undefined, `docker.io/library/app@${D256}`],
    [`ghcr.io/org/app@${D512}`, undefined, `ghcr.io/org/app@${D512}`],
    ['ghcr.io/org/app:1.0', D256, `ghcr.io/org/app@${D256}`],
    [`ghcr.io/org/app:1.0@${D256}`, OTHER256, `ghcr.io/org/app@${OTHER256}`],
  ])('pinnedReference(%s, %s) = %s', (input, digest, expected) => {
    expect(pinnedReference(parseImageReference(input), digest)).toBe(expected);
  });

  test('throws when no digest is known', () => {
    const ref = parseImageReference('ghcr.io/org/app:1.0');
    expect(() => pinnedReference(ref)).toThrow(ConfigurationError);
    expect(() => pinnedReference(ref)).toThrow(/cannot pin 'ghcr\.io\/org\/app:1\.0': no digest is known/);
  });

  test('throws on a malformed digest', () => {
    expect(() => pinnedReference(parseImageReference('app'), 'sha256:abc')).toThrow(
      /exactly 64 lowercase hex/,
    );
  });
});

describe('withTag / withDigest', () => {
  const base = parseImageReference(`ghcr.io/org/app:1.0@${D256}`);

  test('withTag replaces the tag, keeps the digest and does not change its argument', () => {
    const ref = withTag(base, 'v2');
    expect(ref).toEqual({
      registry: 'ghcr.io',
      repository: 'org/app',
      tag: 'v2',
      digest: D256,
      original: `ghcr.io/org/app:v2@${D256}`,
    });
    expect(base.tag).toBe('1.0');
  });

  test('withDigest replaces the digest and keeps the tag', () => {
    const ref = withDigest(parseImageReference('ubuntu:22.04'), D512);
    expect(ref).toMatchObject({ repository: 'library/ubuntu', tag: '22.04', digest: D512 });
    expect(formatReference(ref)).toBe(`docker.io/library/ubuntu:22.04@${D512}`);
  });

  test.each(['', 'has space', '-x', 'a:b', 'x'.repeat(129)])('withTag rejects %j', (tag) => {
    expect(() => withTag(base, tag)).toThrow(ConfigurationError);
    expect(() => withTag(base, tag)).toThrow(/^invalid tag .* for 'ghcr\.io\/org\/app': /);
  });

  test.each(['', 'sha256:abc', HEX256, `sha256:${HEX256.toUpperCase()}`, `SHA256:${HEX256}`])(
    'withDigest rejects %j',
    (digest) => {
      expect(() => withDigest(base, digest)).toThrow(ConfigurationError);
      expect(() => withDigest(base, digest)).toThrow(/^invalid digest .* for 'ghcr\.io\/org\/app': /);
    },
  );
});

describe('isDigest', () => {
  test.each([
    [D256, true],
    [D384, true],
    [D512, true],
    [BLAKE3, true],
    [CUSTOM, true],
    [`sha256:${HEX256.toUpperCase()}`, false],
    [`sha256:${HEX512}`, false],
    [`sha512:${HEX256}`, false],
    [HEX256, false],
    ['sha256:', false],
    [':abc', false],
    ['md5:0123456789abcdef', false],
    [`sha256+b64u:${'A'.repeat(31)}`, false],
    [`Sha256:${HEX256}`, false],
    [`sha256:${HEX256} `, false],
  ])('isDigest(%j) = %s', (s, expected) => {
    expect(isDigest(s)).toBe(expected);
  });
});

describe('isValidTag', () => {
  test.each([
    ['latest', true],
    ['v1.2.3', true],
    ['1.0.0-rc.1', true],
    ['_x', true],
    ['A_b-C.d', true],
    ['t'.repeat(128), true],
    ['t'.repeat(129), false],
    ['', false],
    ['.x', false],
    ['-x', false],
    ['a/b', false],
    ['a:b', false],
    ['sha-256+x', false],
    ['é', false],
  ])('isValidTag(%j) = %s', (s, expected) => {
    expect(isValidTag(s)).toBe(expected);
  });
});

describe('registries', () => {
  test.each([
    ['docker.io', 'registry-1.docker.io'],
    ['index.docker.io', 'registry-1.docker.io'],
    ['ghcr.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['[::1]:5000', '[::1]:5000'],
  ])('registryApiHost(%s) = %s', (registry, expected) => {
    expect(registryApiHost(registry)).toBe(expected);
  });

  test.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['LocalHost:5000', true],
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.255.10.2:80', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['[0:0:0:0:0:0:0:1]:5000', true],
    ['::1', true],
    ['127.0.0.256:5000', false],
    ['128.0.0.1:5000', false],
    ['[::2]:5000', false],
    ['[1::1]', false],
    ['localhost.example.com', false],
    ['ghcr.io', false],
    ['docker.io', false],
  ])('isLoopbackRegistry(%s) = %s', (registry, expected) => {
    expect(isLoopbackRegistry(registry)).toBe(expected);
  });

  test('the registry of a parsed reference can be used as it is', () => {
    const refs: ImageReference[] = ['localhost:5000/app', '[::1]:5000/app', '127.0.0.1/app'].map((s) =>
      parseImageReference(s),
    );
    expect(refs.map((r) => isLoopbackRegistry(r.registry))).toEqual([true, true, true]);
    expect(registryApiHost(parseImageReference('ubuntu').registry)).toBe('registry-1.docker.io');
  });
});
