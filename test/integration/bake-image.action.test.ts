/**
 * bake-image as users run it: the committed bundle through the GitHub runner contract, and the `kiln` CLI as on
 * GitLab, against a real registry (Debian's docker-registry), with real buildah (vfs storage and chroot isolation
 * configured the way a user in a container would: CONTAINERS_STORAGE_CONF and BUILDAH_ISOLATION) and Packer 1.6.6
 * with offline builders. The base image is Debian's static busybox, made here.
 *
 * Needs: apt-get install -y docker-registry skopeo buildah busybox-static packer, and root (chroot for verify).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { rawHead } from '../harness/assertions.js';
import { repoRoot, runBundle } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { writeImageLayout } from '../sim/registry/oci-layout.js';
import { startRegistry, type RunningRegistry } from '../sim/registry/registry.js';

const SLOW = 240_000;
const cli = join(repoRoot, 'dist', 'cli', 'index.js');
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A GitHub tag push of v1.2.3 (the metadata the tag rules read). */
const TAG_PUSH = {
  GITHUB_EVENT_NAME: 'push',
  GITHUB_REF: 'refs/tags/v1.2.3',
  GITHUB_REF_NAME: 'v1.2.3',
  GITHUB_REF_TYPE: 'tag',
  SOURCE_DATE_EPOCH: '1700000000',
};

let work: string;
let registry: RunningRegistry;
let app: string;

/** busybox and a few applets as a one-layer OCI image, pushed as <registry>/platform/busybox:1. */
async function pushBusyboxBase(): Promise<void> {
  const rootfs = join(work, 'base-rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'test', 'cat', 'echo', 'true', 'false'])
    symlinkSync('busybox', join(rootfs, 'bin', applet));
  const layout = join(work, 'base-layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const tgz = join(work, 'base.tar.gz');
  execFileSync('tar', [
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--mtime=@0',
    '-czf',
    tgz,
    '-C',
    rootfs,
    '.',
  ]);
  const bytes = readFileSync(tgz);
  const digest = sha256(bytes);
  writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), bytes);
  await writeImageLayout(layout, {
    tag: '1',
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest,
        size: bytes.length,
        diffId: sha256(gunzipSync(bytes)),
      },
    ],
    labels: {},
  });
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${layout}:1`,
    `docker://${registry.host}/platform/busybox:1`,
  ]);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kiln-bake-action-'));
  registry = await startRegistry();
  await pushBusyboxBase();
  app = join(work, 'app');
  mkdirSync(join(app, 'dist'), { recursive: true });
  writeFileSync(join(app, 'dist', 'run'), '#!/bin/sh\necho "app 1.2.3 ok"\n', { mode: 0o755 });
  writeFileSync(join(app, 'dist', 'config.properties'), 'env=qa\n');
}, SLOW);

afterAll(async () => {
  await registry?.stop();
});

/** The app baked on the busybox base: entrypoint, workdir, a port, the tag rules of a release. */
const appInputs = () => ({
  builder: 'layer-append',
  base: `${registry.host}/platform/busybox:1`,
  layers: 'dist:/app',
  entrypoint: '["/app/run"]',
  workdir: '/app',
  expose: '8080',
  repository: `${registry.host}/team/app`,
  tags: 'type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=sha',
  licenses: 'MIT',
});

describe('bake-image layer-append through the GitHub runner', () => {
  test(
    'a tag push: tags from the rules, OCI labels, verify inside, pushed tags last; outputs chain',
    async () => {
      const r = await runBundle('bake-image', {
        workspace: app,
        env: TAG_PUSH,
        timeoutMs: SLOW,
        with: {
          ...appInputs(),
          verify: '/app/run',
        },
      });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      const digest = r.outputs.get('digest') as string;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.outputs.get('image')).toBe(`${registry.host}/team/app@${digest}`);
      expect(r.outputs.get('builder')).toBe('layer-append');
      expect(r.outputs.get('version')).toBe('1.2.3');
      expect(r.outputs.get('tags')?.split('\n')).toEqual([
        `${registry.host}/team/app:1.2.3`,
        `${registry.host}/team/app:1.2`,
        `${registry.host}/team/app:sha-0123456`,
        `${registry.host}/team/app:latest`,
      ]);
      const labels = JSON.parse(r.outputs.get('labels') as string);
      expect(labels).toMatchObject({
        'org.opencontainers.image.version': '1.2.3',
        'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
        'org.opencontainers.image.source': 'https://github.com/example/app',
        'org.opencontainers.image.licenses': 'MIT',
        'org.opencontainers.image.created': '2023-11-14T22:13:20.000Z',
      });
      const meta = JSON.parse(r.outputs.get('metadata') as string);
      expect(meta.verify).toMatchObject({ passed: true, exitCode: 0 });
      expect(meta.base.ref).toContain('platform/busybox:1');
      for (const tag of ['1.2.3', '1.2', 'sha-0123456', 'latest'])
        expect([tag, await rawHead(registry.url, 'team/app', tag)]).toEqual([tag, digest]);
      expect(r.summary.split('\n')[0]).toMatch(
        /^## ✅ baked sha256:[0-9a-f]{12} with layer-append .*verify passed; pushed 4 tags/,
      );
      expect(r.stdout).not.toContain('::error::');

      // Reproducible: the same inputs again give the same digest, and nothing new is written.
      const again = await runBundle('bake-image', {
        workspace: app,
        env: TAG_PUSH,
        timeoutMs: SLOW,
        with: {
          ...appInputs(),
        },
      });
      expect(again.exitCode).toBe(0);
      expect(again.outputs.get('digest')).toBe(digest);
    },
    SLOW,
  );

  test(
    'a failing verify fails the bake with one error line, and nothing is pushed',
    async () => {
      const r = await runBundle('bake-image', {
        workspace: app,
        env: TAG_PUSH,
        timeoutMs: SLOW,
        with: {
          builder: 'layer-append',
          base: `${registry.host}/platform/busybox:1`,
          layers: 'dist:/app',
          repository: `${registry.host}/team/broken`,
          tags: 'type=raw,value=candidate',
          verify: 'sh -c "echo config missing >&2; exit 3"',
        },
      });
      expect(r.exitCode).toBe(1);
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
      expect(errors).toEqual([expect.stringMatching(/verify exited with 3; nothing was pushed or written/)]);
      expect(r.summary).toMatch(/^## ❌ bake-image failed: .*verify exited with 3/m);
      expect(r.summary).toContain('config missing');
      expect(await rawHead(registry.url, 'team/broken', 'candidate')).toBeUndefined();
    },
    SLOW,
  );

  test(
    'outputs chain: an OCI layout baked without pushing is pushed by push-registry with the same digest',
    async () => {
      const layout = join(work, 'chain-layout');
      const bake = await runBundle('bake-image', {
        workspace: app,
        env: TAG_PUSH,
        timeoutMs: SLOW,
        with: {
          builder: 'layer-append',
          base: `${registry.host}/platform/busybox:1`,
          layers: 'dist:/app',
          'oci-layout': layout,
        },
      });
      expect(bake.exitCode).toBe(0);
      expect(bake.outputs.get('oci-layout')).toBe(layout);
      expect(bake.outputs.get('image')).toBeUndefined();
      const push = await runBundle('push-registry', {
        workspace: app,
        timeoutMs: SLOW,
        with: {
          source: bake.outputs.get('oci-layout') as string,
          destinations: `${registry.host}/team/chained`,
          tags: bake.outputs.get('version') as string,
        },
      });
      expect(push.exitCode).toBe(0);
      expect(push.outputs.get('digest')).toBe(bake.outputs.get('digest'));
      const version = bake.outputs.get('version') as string; // v1.2.3: the default rules keep the git tag
      expect(await rawHead(registry.url, 'team/chained', version)).toBe(bake.outputs.get('digest'));
    },
    SLOW,
  );

  test('buildx when a Docker daemon answers (a fake docker: none here): auto picks it, provenance off', async () => {
    const bin = mkdtempSync(join(work, 'bin-'));
    symlinkSync(join(repoRoot, 'test/fixtures/bake-builders/fake-docker.mjs'), join(bin, 'docker'));
    const log = join(bin, 'calls.jsonl');
    const ws = mkdtempSync(join(work, 'buildx-'));
    writeFileSync(join(ws, 'Dockerfile'), 'FROM scratch\nCOPY . /\n');
    const r = await runBundle('bake-image', {
      workspace: ws,
      env: { ...TAG_PUSH, PATH: `${bin}:${process.env.PATH}`, FAKE_DOCKER_LOG: log },
      with: { repository: 'ghcr.io/org/app', tags: 'type=semver,pattern={{version}}' },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('builder')).toBe('buildx');
    expect(r.outputs.get('digest')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(existsSync(log)).toBe(true);
    const build = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; env: { SOURCE_DATE_EPOCH?: string } })
      .find((c) => c.argv[1] === 'build');
    expect(build?.argv).toEqual(
      expect.arrayContaining(['--provenance=false', '--tag', 'ghcr.io/org/app:1.2.3']),
    );
    // Reproducible: pushed through BuildKit's registry output with the timestamps rewritten.
    expect(build?.argv.join(' ')).toMatch(/--output type=registry\S*rewrite-timestamp=true/);
    expect(build?.argv).toEqual(
      expect.arrayContaining(['--label', 'org.opencontainers.image.version=1.2.3']),
    );
    expect(build?.env.SOURCE_DATE_EPOCH).toBe('1700000000');
  });

  test('bad inputs are one line, exit 2, before anything runs', async () => {
    const noBase = await runBundle('bake-image', {
      workspace: app,
      with: { builder: 'layer-append', layers: 'dist:/app', repository: `${registry.host}/team/x` },
    });
    expect(noBase.exitCode).toBe(2);
    expect(noBase.stdout.trim()).toMatch(/^::error::Input 'base': is required with builder: layer-append/);
    const badVerify = await runBundle('bake-image', {
      workspace: app,
      with: {
        builder: 'layer-append',
        base: `${registry.host}/platform/busybox:1`,
        layers: 'dist:/app',
        repository: `${registry.host}/team/x`,
        verify: '["unclosed"',
      },
    });
    expect(badVerify.exitCode).toBe(2);
    expect(badVerify.stdout.trim()).toMatch(/^::error::Input 'verify': is not a JSON array/);
    const badTags = await runBundle('bake-image', {
      workspace: app,
      with: {
        builder: 'layer-append',
        base: `${registry.host}/platform/busybox:1`,
        layers: 'dist:/app',
        repository: `${registry.host}/team/x`,
        tags: 'type=semver',
      },
    });
    expect(badTags.exitCode).toBe(2);
    expect(badTags.stdout.trim()).toMatch(/^::error::Input 'tags': line 1 'type=semver': .*pattern=/);
  });
});

describe('bake-image through the kiln CLI on GitLab', () => {
  /** GitLab job variables for a tag pipeline, and buildah configured for a container (vfs, chroot). */
  function gitlabEnv(ws: string): Record<string, string> {
    const storage = join(ws, '.storage');
    mkdirSync(storage, { recursive: true });
    const conf = join(ws, '.storage.conf');
    writeFileSync(
      conf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${storage}/root"\nrunroot = "${storage}/runroot"\n`,
    );
    return {
      PATH: process.env.PATH as string,
      HOME: ws,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: ws,
      CI_PIPELINE_SOURCE: 'push',
      CI_COMMIT_TAG: 'v2.0.0',
      CI_COMMIT_REF_NAME: 'v2.0.0',
      CI_COMMIT_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
      CI_PROJECT_URL: 'https://gitlab.example.com/team/app',
      CI_PROJECT_NAME: 'app',
      CI_COMMIT_TIMESTAMP: '2026-11-01T10:00:00+00:00',
      CONTAINERS_STORAGE_CONF: conf,
      BUILDAH_ISOLATION: 'chroot',
    };
  }

  test(
    'buildah: a Containerfile built, verified in the container, pushed; the dotenv carries DIGEST and IMAGE',
    async () => {
      const ws = mkdtempSync(join(work, 'buildah-'));
      copyFileSync('/bin/busybox', join(ws, 'busybox'));
      writeFileSync(
        join(ws, 'Containerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nARG GREETING\nRUN ["/bin/busybox", "sh", "-c", "echo $GREETING > /greeting"]\nCMD ["/bin/busybox", "cat", "/greeting"]\n',
      );
      const r = await runNode(
        [
          cli,
          'bake-image',
          '--builder',
          'buildah',
          '--build-args',
          'GREETING=hello',
          '--repository',
          `${registry.host}/team/built`,
          '--tags',
          'type=ref,event=tag',
          '--verify',
          '/bin/busybox grep -q hello /greeting',
        ],
        { cwd: ws, env: gitlabEnv(ws) },
      );
      expect(r.stderr + r.stdout).not.toContain('Error:');
      expect(r.exitCode).toBe(0);
      const dotenv = readFileSync(join(ws, 'kiln.env'), 'utf8');
      const digest = /^DIGEST=(sha256:[0-9a-f]{64})$/m.exec(dotenv)?.[1];
      expect(digest).toBeDefined();
      expect(dotenv).toContain(`IMAGE=${registry.host}/team/built@${digest}`);
      expect(dotenv).toMatch(/^BUILDER=buildah$/m);
      expect(await rawHead(registry.url, 'team/built', 'v2.0.0')).toBe(digest);
      expect(await rawHead(registry.url, 'team/built', 'latest')).toBe(digest);
    },
    SLOW,
  );

  test(
    'packer: the artifact ids are the digest; a failing template is Packer’s own error line',
    async () => {
      const ws = mkdtempSync(join(work, 'packer-'));
      copyFileSync(join(repoRoot, 'test/fixtures/bake-builders/packer/artifacts.json'), join(ws, 'vm.json'));
      const r = await runNode(
        [cli, 'bake-image', '--template', 'vm.json', '--packer-vars', 'greeting=hi', '--json'],
        { cwd: ws, env: { PATH: process.env.PATH as string, HOME: ws } },
      );
      expect(r.exitCode).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.builder).toBe('packer');
      expect(out['artifact-ids'].length).toBeGreaterThan(0);
      expect(out.digest).toMatch(/artifact=/);
      copyFileSync(join(repoRoot, 'test/fixtures/bake-builders/packer/failing.json'), join(ws, 'bad.json'));
      const bad = await runNode([cli, 'bake-image', '--template', 'bad.json'], {
        cwd: ws,
        env: { PATH: process.env.PATH as string, HOME: ws },
      });
      expect(bad.exitCode).toBe(1);
      expect(bad.stderr).toMatch(/error: .*Build '.*' errored/);
    },
    SLOW,
  );
});
