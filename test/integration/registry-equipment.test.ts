/**
 * Proves the registry test equipment (test/sim/registry) right against real programs: CNCF distribution
 * (`docker-registry`) as the registry and `skopeo` as the client. CI installs both; when either is missing the
 * suite fails (it does not skip).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { removeDir, sleep, which } from '../sim/registry/util.js';

const APT = 'apt-get install -y docker-registry skopeo apache2-utils openssl';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Result of {@link raw}: a response, or the error that ended the exchange. */
interface RawResult {
  status?: number;
  headers?: IncomingHttpHeaders;
  body: Buffer;
  /** Error code when the exchange broke (ECONNRESET, EPIPE, …). */
  error?: string;
  /** Whether the response body was received in full. */
  complete: boolean;
}

/** A plain node:http exchange that reports partial bodies and connection errors instead of throwing. */
function raw(
  url: string,
  opts: { method?: string; headers?: Record<string, string | number>; body?: Buffer } = {},
): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (r: RawResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      const result = (error?: string): RawResult => ({
        status: res.statusCode,
        headers: res.headers,
        body: Buffer.concat(chunks),
        error,
        complete: res.complete,
      });
      res.on('error', (e: NodeJS.ErrnoException) => done(result(e.code ?? e.message)));
      res.on('end', () => done(result()));
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ body: Buffer.concat(chunks), error: e.code ?? e.message, complete: false }),
    );
    req.end(opts.body);
  });
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Polls `check` until it returns true or `ms` pass. */
async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

describe('registry test equipment (docker-registry + skopeo)', () => {
  const users = { alice: 'wonderland' };
  let open: RunningRegistry;
  let basicReg: RunningRegistry;
  let tokenReg: RunningRegistry;
  let proxy: FaultProxy;
  let slowProxy: FaultProxy;
  let tokenProxy: FaultProxy;
  let skopeo: Skopeo;
  let work: string;
  let seq = 0;
  const cleanups: Array<() => Promise<unknown>> = [];

  /** Awaits a started resource and registers how to stop it. */
  const keep = async <T>(started: Promise<T>, stop: (value: T) => Promise<unknown>): Promise<T> => {
    const value = await started;
    cleanups.push(() => stop(value));
    return value;
  };

  /** A fresh image (new blobs, so a push really uploads). */
  const image = async (randomBytes?: number): Promise<OciLayoutImage> =>
    writeOciLayout(join(work, `img-${++seq}`), { seed: String(seq), randomBytes });

  beforeAll(async () => {
    const missing = [
      registryAvailable() ? undefined : 'docker-registry',
      skopeoAvailable() ? undefined : 'skopeo',
      which('htpasswd') ? undefined : 'htpasswd (apache2-utils)',
      which('openssl') ? undefined : 'openssl',
    ].filter((m): m is string => m !== undefined);
    if (missing.length > 0) {
      throw new Error(`registry equipment tests need ${missing.join(', ')}; install with: ${APT}`);
    }
    work = await mkdtemp(join(tmpdir(), 'kiln-regtest-'));
    skopeo = await createSkopeo();
    // Each resource registers its cleanup once it is up; allSettled waits for every start to end, so a
    // failed start elsewhere leaks nothing past afterAll.
    const registries = [
      keep(startRegistry(), (r) => r.stop()),
      keep(startRegistry({ auth: { kind: 'basic', users } }), (r) => r.stop()),
      keep(startRegistry({ auth: { kind: 'token', users } }), (r) => r.stop()),
    ] as const;
    await Promise.allSettled(registries);
    [open, basicReg, tokenReg] = await Promise.all(registries);
    const proxies = [
      keep(startFaultProxy(open.url), (p) => p.close()),
      keep(startFaultProxy(open.url, { latencyMs: 50 }), (p) => p.close()),
      keep(startFaultProxy(tokenReg.url), (p) => p.close()),
    ] as const;
    await Promise.allSettled(proxies);
    [proxy, slowProxy, tokenProxy] = await Promise.all(proxies);
  });

  afterAll(async () => {
    // Proxies first (registered last), then registries, then the sandbox and scratch dir.
    for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
    await skopeo?.close();
    if (work) await removeDir(work);
  });

  test('open registry: skopeo pushes an OCI image; the registry serves the same manifest bytes by tag', async () => {
    const img = await image();
    const out = await skopeo.copyTo(img.ref, `docker://${open.host}/app:v1`, {
      extra: ['--preserve-digests'],
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);

    const res = await fetch(`${open.url}/v2/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(img.manifest.digest);
    expect(Buffer.from(await res.arrayBuffer()).equals(img.manifest.bytes)).toBe(true);
    const blob = await fetch(`${open.url}/v2/app/blobs/${img.config.digest}`);
    expect(Buffer.from(await blob.arrayBuffer()).equals(img.config.bytes)).toBe(true);
  });

  test('startRegistry: storageDir survives a restart; stop() kills the process and removes its temp dir', async () => {
    const storageDir = join(work, 'persistent-storage');
    const first = await startRegistry({ storageDir });
    const configDir = dirname(first.configPath);
    let second: RunningRegistry | undefined;
    try {
      expect(first.host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(first.url).toBe(`http://${first.host}`);
      const img = await image();
      expect((await skopeo.copyTo(img.ref, `docker://${first.host}/kept:1`)).code).toBe(0);
      await first.stop();
      expect(existsSync(configDir)).toBe(false);
      expect(existsSync(storageDir)).toBe(true);
      expect((await raw(`${first.url}/v2/`)).error).toBe('ECONNREFUSED');
      expect(first.logs()).toContain('listening on 127.0.0.1');

      second = await startRegistry({ storageDir });
      const res = await fetch(`${second.url}/v2/kept/tags/list`);
      expect(await res.json()).toEqual({ name: 'kept', tags: ['1'] });
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  test('htpasswd registry: skopeo pushes with the right credentials, fails with wrong or none', async () => {
    const challenge = await fetch(`${basicReg.url}/v2/`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toMatch(/^Basic realm=/);

    const img = await image();
    const dest = `docker://${basicReg.host}/secure:1`;
    const wrong = await skopeo.copyTo(img.ref, dest, { creds: 'alice:not-the-password' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|authentication required|401/i);
    const none = await skopeo.copyTo(img.ref, dest);
    expect(none.code).not.toBe(0);

    const ok = await skopeo.copyTo(img.ref, dest, { creds: 'alice:wonderland' });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const head = await fetch(`${basicReg.url}/v2/secure/manifests/1`, {
      method: 'HEAD',
      headers: { Authorization: basic('alice', 'wonderland'), Accept: OCI_MANIFEST },
    });
    expect(head.status).toBe(200);
  });

  test('token registry: skopeo pushes through the token server, which records the scope it asked for', async () => {
    const ts = tokenReg.tokenServer!;
    const challenge = await fetch(`${tokenReg.url}/v2/`);
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get('www-authenticate')).toBe(
      `Bearer realm="${ts.realm}",service="${ts.service}"`,
    );

    ts.clearRequests();
    const img = await image();
    const ok = await skopeo.copyTo(img.ref, `docker://${tokenReg.host}/team/app:1`, {
      creds: 'alice:wonderland',
    });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const asked = ts.requests();
    expect(asked.length).toBeGreaterThan(0);
    expect(asked.every((r) => r.status === 200 && r.authenticated && r.user === 'alice')).toBe(true);
    expect(asked.every((r) => r.account === 'alice' && r.service === ts.service)).toBe(true);
    expect(asked.some((r) => r.scopes.includes('repository:team/app:pull,push'))).toBe(true);
    expect(asked.find((r) => r.scopes.length > 0)?.granted).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull', 'push'] },
    ]);

    ts.clearRequests();
    const wrong = await skopeo.copyTo(img.ref, `docker://${tokenReg.host}/team/app:2`, {
      creds: 'alice:nope',
    });
    expect(wrong.code).not.toBe(0);
    expect(ts.requests().some((r) => r.status === 401 && r.user === 'alice' && !r.authenticated)).toBe(true);
  });

  test('token registry: kid and x5c headers verify, foreign keys and audiences do not; ACL and multi-scope', async () => {
    const ts = tokenReg.tokenServer!;
    const catalog = (token: string) =>
      fetch(`${tokenReg.url}/v2/_catalog`, { headers: { Authorization: `Bearer ${token}` } });
    const all = [{ type: 'registry', name: 'catalog', actions: ['*'] }];

    expect(ts.keyId).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect((await catalog(ts.issue('alice', all))).status).toBe(200);
    ts.keyHeader = 'x5c';
    try {
      const x5cToken = ts.issue('alice', all);
      expect(JSON.parse(Buffer.from(x5cToken.split('.')[0]!, 'base64url').toString())).toHaveProperty('x5c');
      expect((await catalog(x5cToken)).status).toBe(200);
    } finally {
      ts.keyHeader = 'kid';
    }

    // Same signature, header naming another key: the registry must refuse (it really verifies).
    const [, claims, sig] = ts.issue('alice', all).split('.');
    const foreignHeader = Buffer.from(
      JSON.stringify({
        typ: 'JWT',
        alg: 'RS256',
        kid: 'AAAA:BBBB:CCCC:DDDD:EEEE:FFFF:GGGG:HHHH:IIII:JJJJ:KKKK:LLLL',
      }),
    ).toString('base64url');
    const foreign = await catalog(`${foreignHeader}.${claims}.${sig}`);
    expect(foreign.status).toBe(401);
    expect(foreign.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect((await catalog(ts.issue('alice', all, { audience: 'some-other-registry' }))).status).toBe(401);

    // One token for several scopes, push scope first; order and grants are recorded.
    ts.clearRequests();
    const scopes = ['repository:dst/app:pull,push', 'repository:src/app:pull'];
    const query = `service=${ts.service}&${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&')}`;
    const res = await fetch(`${ts.realm}?${query}`, {
      headers: { Authorization: basic('alice', 'wonderland') },
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(typeof body.issued_at).toBe('string');
    const claimSet = JSON.parse(Buffer.from(String(body.token).split('.')[1]!, 'base64url').toString());
    expect(claimSet).toMatchObject({ iss: ts.issuer, sub: 'alice', aud: ts.service });
    expect(Object.keys(claimSet).sort()).toEqual(['access', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
    expect(claimSet.access).toEqual([
      { type: 'repository', name: 'dst/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'src/app', actions: ['pull'] },
    ]);
    expect(ts.requests()[0]?.scopes).toEqual(scopes);

    // Anonymous: pull only, so an anonymous push is refused by the registry with insufficient_scope.
    const anon = await fetch(`${ts.realm}?service=${ts.service}&scope=repository:team/app:pull,push`);
    const anonToken = ((await anon.json()) as { token: string }).token;
    expect(ts.requests().at(-1)?.granted).toEqual([
      { type: 'repository', name: 'team/app', actions: ['pull'] },
    ]);
    const push = await fetch(`${tokenReg.url}/v2/team/app/blobs/uploads/`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${anonToken}` },
    });
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    const pull = await fetch(`${tokenReg.url}/v2/team/app/tags/list`, {
      headers: { Authorization: `Bearer ${anonToken}` },
    });
    expect(pull.status).toBe(200);

    const bad = await fetch(`${ts.realm}?service=${ts.service}`, {
      headers: { Authorization: basic('eve', 'x') },
    });
    expect(bad.status).toBe(401);
  });

  test('fault proxy: a 503 fails skopeo (no HTTP-level retry of 503); a 429 with Retry-After is retried after the delay', async () => {
    const uploadStart = {
      match: (r: { route: string }) => r.route === 'POST /v2/:name/blobs/uploads/',
      times: 1,
    };

    proxy.resetStats();
    const img = await image();
    const unavailable = proxy.addFault({ ...uploadStart, fault: { kind: '503' } });
    // skopeo 1.9.3 fails even with --retry-times 1 (the error is not typed as retryable); 0 keeps this
    // independent of that whole-copy retry knob.
    const failed = await skopeo.copyTo(img.ref, `docker://${proxy.host}/flaky:1`, { retryTimes: 0 });
    expect(unavailable.served()).toBe(1);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('503');
    expect(
      proxy
        .stats()
        .log.filter((e) => e.fault === '503')
        .map((e) => e.status),
    ).toEqual([503]);
    proxy.clearFaults();

    proxy.resetStats();
    const limited = proxy.addFault({ ...uploadStart, fault: { kind: '429', retryAfter: '1' } });
    const retried = await skopeo.copyTo(img.ref, `docker://${proxy.host}/flaky:1`);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    expect(limited.served()).toBe(1);
    expect(limited.remaining()).toBe(0);
    const log = proxy.stats().log;
    const i = log.findIndex((e) => e.fault === '429');
    expect(log[i]?.status).toBe(429);
    const retry = log.slice(i + 1).find((e) => e.route === log[i]?.route);
    expect(retry?.status).toBe(202);
    expect(retry!.at - log[i]!.at).toBeGreaterThanOrEqual(950);
    proxy.clearFaults();
  });

  test('fault proxy: latency is added to every request', async () => {
    slowProxy.resetStats();
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      expect((await fetch(`${slowProxy.url}/v2/`)).status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
    }
    const img = await image();
    expect((await skopeo.copyTo(img.ref, `docker://${slowProxy.host}/slow:1`)).code).toBe(0);
    const log = slowProxy.stats().log;
    expect(log.length).toBeGreaterThan(5);
    expect(log.every((e) => e.ms >= 49)).toBe(true);
  });

  test('fault proxy: counts routes and blob bytes of a skopeo push and pull exactly', async () => {
    proxy.resetStats();
    const img = await image(200_000);
    expect((await skopeo.copyTo(img.ref, `docker://${proxy.host}/counted:1`)).code).toBe(0);
    const up = proxy.stats();
    expect(up.uploadedBytes).toBe(img.blobBytes);
    expect(up.downloadedBytes).toBe(0);
    expect(up.byRoute['PUT /v2/:name/manifests/:ref']).toBe(1);
    expect(up.byRoute['PUT /v2/:name/blobs/uploads/:id']).toBe(2);
    expect(up.requests).toBe(Object.values(up.byRoute).reduce((a, b) => a + b, 0));
    // Only successes, plus 404s for the existence checks (HEAD) of blobs not pushed yet.
    expect(up.log.filter((e) => !(e.status >= 200 && e.status < 300) && e.status !== 404)).toEqual([]);

    proxy.resetStats();
    const pulled = await skopeo.tryRun([
      'copy',
      '--src-tls-verify=false',
      `docker://${proxy.host}/counted:1`,
      `oci:${join(work, 'pulled')}:counted`,
    ]);
    expect(pulled.code).toBe(0);
    const down = proxy.stats();
    expect(down.downloadedBytes).toBe(img.blobBytes);
    expect(down.uploadedBytes).toBe(0);
    expect(down.byRoute['GET /v2/:name/blobs/:digest']).toBe(2);
  });

  test('fault proxy: reset before the response, and reset mid-body in both directions', async () => {
    const img = await image(100_000);
    expect((await skopeo.copyTo(img.ref, `docker://${open.host}/cut:1`)).code).toBe(0);
    const layer = img.layers[0]!;
    proxy.resetStats();

    // reset: the client gets no response at all; the registry never sees the request.
    proxy.addFault({ match: (r) => r.path === '/v2/', times: 1, fault: { kind: 'reset' } });
    const reset = await raw(`${proxy.url}/v2/`);
    expect(reset.status).toBeUndefined();
    expect(reset.error).toBe('ECONNRESET');
    expect((await raw(`${proxy.url}/v2/`)).status).toBe(200);

    // response body: status, headers and exactly afterBytes bytes, then the connection closes.
    proxy.addFault({
      match: (r) => r.method === 'GET' && r.path.endsWith(layer.digest),
      times: 1,
      fault: { kind: 'reset-mid-body', afterBytes: 4096 },
    });
    const cut = await raw(`${proxy.url}/v2/cut/blobs/${layer.digest}`);
    expect(cut.status).toBe(200);
    expect(cut.headers?.['content-length']).toBe(String(layer.size));
    expect(cut.body.length).toBe(4096);
    expect(cut.complete).toBe(false);
    expect(cut.body.equals(layer.bytes.subarray(0, 4096))).toBe(true);
    expect(proxy.stats().downloadedBytes).toBe(4096);
    const whole = await raw(`${proxy.url}/v2/cut/blobs/${layer.digest}`);
    expect(createHash('sha256').update(whole.body).digest('hex')).toBe(layer.digest.slice('sha256:'.length));

    // request body: exactly afterBytes reach the registry, then both connections are broken.
    const started = await fetch(`${proxy.url}/v2/cut/blobs/uploads/`, { method: 'POST' });
    const location = started.headers.get('location')!;
    expect(location.startsWith(`${proxy.url}/`)).toBe(true);
    proxy.resetStats();
    proxy.addFault({
      match: (r) => r.method === 'PATCH',
      times: 1,
      fault: { kind: 'reset-mid-body', afterBytes: 10_000 },
    });
    const body = Buffer.alloc(300_000, 7);
    const patch = await raw(location, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
      body,
    });
    expect(patch.status).toBeUndefined();
    expect(['ECONNRESET', 'EPIPE']).toContain(patch.error);
    expect(proxy.stats().uploadedBytes).toBe(10_000);
    expect(
      await eventually(() => /client disconnected during blob PATCH.*copied=10000\b/.test(open.logs())),
    ).toBe(true);
  });

  test('fault proxy: Location and Bearer realm are rewritten so the client only talks to the proxy', async () => {
    // The registry builds Location from Host; make it name the registry itself and watch the proxy fix it.
    const viaRegistryHost = await raw(`${proxy.url}/v2/loc/blobs/uploads/`, {
      method: 'POST',
      headers: { Host: open.host },
    });
    expect(viaRegistryHost.status).toBe(202);
    expect(viaRegistryHost.headers?.location?.startsWith(`${proxy.url}/v2/loc/blobs/uploads/`)).toBe(true);

    const ts = tokenReg.tokenServer!;
    const challenge = await fetch(`${tokenProxy.url}/v2/`);
    const realm = /realm="([^"]+)"/.exec(challenge.headers.get('www-authenticate') ?? '')?.[1] ?? '';
    expect(realm.startsWith(`${tokenProxy.url}/`)).toBe(true);
    expect(realm.endsWith('/token')).toBe(true);

    ts.clearRequests();
    tokenProxy.resetStats();
    const img = await image();
    const ok = await skopeo.copyTo(img.ref, `docker://${tokenProxy.host}/proxied/app:1`, {
      creds: 'alice:wonderland',
    });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(tokenProxy.stats().byRoute['GET /token']).toBeGreaterThanOrEqual(1);
    expect(ts.requests().some((r) => r.scopes.includes('repository:proxied/app:pull,push'))).toBe(true);

    // A fault on the token route reaches the client too.
    tokenProxy.addFault({ match: (r) => !r.toRegistry, times: Infinity, fault: { kind: '503' } });
    try {
      const failed = await skopeo.copyTo(img.ref, `docker://${tokenProxy.host}/proxied/app:2`, {
        creds: 'alice:wonderland',
      });
      expect(failed.code).not.toBe(0);
    } finally {
      tokenProxy.clearFaults();
    }
  });
});
