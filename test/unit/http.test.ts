import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, request as httpGet, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import {
  backoffDelay,
  closeHttpPools,
  DEFAULT_RETRY,
  HttpError,
  httpRequest,
  parseRetryAfter,
} from '../../packages/core/src/http/http.js';
import { bypassProxy, proxyFor } from '../../packages/core/src/http/proxy.js';
import { KILN_VERSION } from '../../packages/core/src/version.js';
import { closedPort, startServer, status, type TestServer } from '../harness/http-fixture.js';
import { startSmokeService, type SmokeService } from '../harness/smoke-service.js';

let srv: TestServer;
let svc: SmokeService;
beforeAll(async () => {
  srv = await startServer();
  svc = await startSmokeService();
});
afterAll(async () => {
  await srv.close();
  await svc.close();
  await closeHttpPools();
});

const fast = { baseDelayMs: 5, maxDelayMs: 20 };

describe('retries', () => {
  test('5xx is retried until it succeeds, with the user agent on every attempt', async () => {
    let n = 0;
    srv.route('/flaky', (req, res) => {
      n++;
      res.writeHead(n < 3 ? 503 : 200);
      res.end(n < 3 ? 'busy' : 'ok');
    });
    const res = await httpRequest(`${srv.url}/flaky`, { retry: fast });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(3);
    expect(await res.text()).toBe('ok');
    const seen = srv.requests.filter((r) => r.path === '/flaky');
    expect(seen.map((r) => r.headers['user-agent'])).toEqual(Array(3).fill(`kiln/${KILN_VERSION}`));
  });

  test('429 waits for Retry-After before the next attempt', async () => {
    const times: number[] = [];
    srv.route('/limited', (_req, res) => {
      times.push(Date.now());
      if (times.length === 1) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end();
      } else {
        res.writeHead(200);
        res.end('ok');
      }
    });
    const res = await httpRequest(`${srv.url}/limited`, { retry: fast });
    expect(res.status).toBe(200);
    expect(times).toHaveLength(2);
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(950);
  });

  test('a Retry-After longer than allowed returns the 429 instead of waiting', async () => {
    srv.route('/long-wait', status(429));
    srv.route('/long-wait', (_req, res) => {
      res.writeHead(429, { 'retry-after': '3600' });
      res.end();
    });
    const res = await httpRequest(`${srv.url}/long-wait`, { retry: fast });
    expect(res.status).toBe(429);
    expect(res.attempts).toBe(1);
  });

  test('4xx is not retried', async () => {
    srv.route('/missing', status(404, 'no'));
    const res = await httpRequest(`${srv.url}/missing`, { retry: fast });
    expect(res.status).toBe(404);
    expect(res.attempts).toBe(1);
  });

  test('retries are bounded: the last 5xx is returned', async () => {
    srv.route('/down', status(502));
    const res = await httpRequest(`${srv.url}/down`, { retry: { ...fast, retries: 2 } });
    expect(res.status).toBe(502);
    expect(res.attempts).toBe(3);
  });

  test('a connection reset is retried for GET', async () => {
    let n = 0;
    srv.route('/reset', (req, res) => {
      if (++n === 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200);
      res.end('ok');
    });
    const res = await httpRequest(`${srv.url}/reset`, { retry: fast });
    expect(res.status).toBe(200);
    expect(res.attempts).toBe(2);
  });

  test('a connection reset is not retried for POST (the server may have acted on it)', async () => {
    let n = 0;
    srv.route('/post-reset', (req) => {
      n++;
      req.socket.destroy();
    });
    await expect(
      httpRequest(`${srv.url}/post-reset`, { method: 'POST', body: 'x', retry: fast }),
    ).rejects.toThrow(/connection to .* was reset/);
    expect(n).toBe(1);
  });

  test('a kept-alive connection the server dropped is retried at once, even for POST (the request never got there)', async () => {
    // The server answers the first request, then treats the connection as closed: the next request on it is
    // reset unanswered, as when a server's idle timeout closes a connection just as the client reuses it.
    const seen = new Map<object, number>();
    let handled = 0;
    srv.route('/idle-close', (req, res) => {
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      if (n > 1) {
        req.socket.destroy();
        return;
      }
      handled++;
      res.writeHead(200, { connection: 'keep-alive' });
      res.end('ok');
    });
    const first = await httpRequest(`${srv.url}/idle-close`, { method: 'POST', body: 'a', retry: fast });
    expect([first.status, await first.text()]).toEqual([200, 'ok']);
    const second = await httpRequest(`${srv.url}/idle-close`, { method: 'POST', body: 'b', retry: fast });
    expect([second.status, second.attempts, handled]).toEqual([200, 2, 2]);
  });

  test('connection refused is an HttpError naming the host, after retries', async () => {
    const port = await closedPort();
    const err = await httpRequest(`http://127.0.0.1:${port}/`, { retry: { ...fast, retries: 1 } }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toContain(`connection refused by 127.0.0.1:${port}`);
    expect(err.attempts).toBe(2);
  });

  test('a server that never answers times out per attempt', async () => {
    srv.route('/hang', () => undefined);
    const err = await httpRequest(`${srv.url}/hang`, {
      timeoutMs: 200,
      retry: { ...fast, retries: 0 },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toMatch(/no answer from .* within 200ms/);
  });

  test('a body that stops arriving fails after the timeout instead of hanging', async () => {
    srv.route('/stall', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it'); // and then nothing
    });
    const res = await httpRequest(`${srv.url}/stall`, { timeoutMs: 200, retry: { retries: 0 } });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(/no activity for 200ms/);
  });

  test('a body cut short (the server closes mid-body) is an error, not a short body', async () => {
    srv.route('/cut', (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part of it', () => req.socket.destroy());
    });
    const res = await httpRequest(`${srv.url}/cut`, { retry: { retries: 0 } });
    await expect(res.buffer()).rejects.toThrow();
  });

  test('a redirect to another origin drops every header that carries a secret, and keeps the others', async () => {
    const other = await startServer({
      '/landing': (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.headers));
      },
    });
    try {
      srv.route('/to-other', (_req, res) => {
        res.writeHead(307, { location: `${other.url}/landing` });
        res.end();
      });
      const res = await httpRequest(`${srv.url}/to-other`, {
        maxRedirects: 3,
        headers: {
          authorization: 'Bearer t0ken',
          cookie: 'session=abc',
          'x-api-key': 'k3y',
          'x-auth-token': 't0k',
          'private-token': 'gl-t0k',
          'x-tenant': 'filled-from-a-secret',
          accept: 'application/json',
          'x-request-id': 'r-1',
        },
        sensitiveHeaders: ['X-Tenant'],
      });
      const seen = (await res.json()) as Record<string, string>;
      for (const h of ['authorization', 'cookie', 'x-api-key', 'x-auth-token', 'private-token', 'x-tenant'])
        expect([h, seen[h]]).toEqual([h, undefined]);
      expect([seen['accept'], seen['x-request-id']]).toEqual(['application/json', 'r-1']);
    } finally {
      await other.close();
    }
  });

  test('redirects: returned by default; followed when asked, without credentials to another origin', async () => {
    const other = await startServer({
      '/landing': (req, res) => {
        res.writeHead(200);
        res.end(`auth=${req.headers.authorization ?? 'none'}`);
      },
    });
    try {
      srv.route('/moved', (req, res) => {
        res.writeHead(302, { location: req.url?.includes('away') ? `${other.url}/landing` : '/here' });
        res.end();
      });
      srv.route('/here', (req, res) => {
        res.writeHead(200);
        res.end(`auth=${req.headers.authorization ?? 'none'}`);
      });
      const headers = { authorization: 'Bearer t0ken' };
      expect((await httpRequest(`${srv.url}/moved`, { headers })).status).toBe(302);
      const same = await httpRequest(`${srv.url}/moved`, { headers, maxRedirects: 3 });
      expect([same.status, await same.text(), same.url]).toEqual([
        200,
        'auth=Bearer t0ken',
        `${srv.url}/here`,
      ]);
      const away = await httpRequest(`${srv.url}/moved?away`, { headers, maxRedirects: 3 });
      expect([away.status, await away.text()]).toEqual([200, 'auth=none']);
    } finally {
      await other.close();
    }
  });

  test('no retry starts at or after the deadline', async () => {
    srv.route('/always-503', status(503));
    // A wait (Retry-After: 5, plus jitter) that would end past the deadline: the answer as it is, after one attempt.
    srv.route('/503-retry-after', (_req, res) => {
      res.writeHead(503, { 'retry-after': '5' });
      res.end();
    });
    const reached = await httpRequest(`${srv.url}/503-retry-after`, {
      retry: { retries: 10 },
      deadline: Date.now() + 2_000,
    });
    expect(reached.status).toBe(503);
    expect(reached.attempts).toBe(1);
    // A deadline already past: nothing is sent.
    const before = srv.requests.length;
    await expect(httpRequest(`${srv.url}/always-503`, { deadline: Date.now() - 1 })).rejects.toThrow(
      /no complete answer from 127\.0\.0\.1:\d+ before the deadline$/,
    );
    expect(srv.requests.length).toBe(before);
    // Far from the deadline the same request is retried (all 3 retries, a few ms apart).
    const far = await httpRequest(`${srv.url}/always-503`, {
      retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 5 },
      deadline: Date.now() + 60_000,
    });
    expect(far.attempts).toBe(4);
  });

  test('an aborted signal stops the retry loop', async () => {
    srv.route('/slow-503', status(503));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(
      httpRequest(`${srv.url}/slow-503`, {
        retry: { retries: 50, baseDelayMs: 1000, maxDelayMs: 1000 },
        signal: ac.signal,
      }),
    ).rejects.toThrow(/Cancel|abort/i);
  });
});

describe('Retry-After and backoff', () => {
  test('seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('garbage', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
  test('full jitter stays under the exponential ceiling', () => {
    expect(backoffDelay(0, DEFAULT_RETRY, () => 0.999)).toBeLessThanOrEqual(500);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0.999)).toBeLessThanOrEqual(4000);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0.999)).toBeGreaterThan(3000);
    expect(backoffDelay(20, DEFAULT_RETRY, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
    expect(backoffDelay(2, DEFAULT_RETRY, () => 0)).toBe(0);
  });
});

describe('proxies', () => {
  /**
   * A real forward proxy: absolute-form requests are forwarded to the fixture server, CONNECT opens a tunnel
   * to the smoke service's HTTPS port, whatever host was asked for; it answers 407 without the credentials.
   */
  async function startProxy(opts: { requireAuth?: string } = {}) {
    const seen: string[] = [];
    const proxy: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} host=${req.headers.host}`);
      if (opts.requireAuth && req.headers['proxy-authorization'] !== opts.requireAuth) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' });
        return res.end();
      }
      const u = new URL(req.url ?? '/');
      const up = httpGet(
        { host: '127.0.0.1', port: srv.port, path: u.pathname, headers: req.headers, method: req.method },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    proxy.on('connect', (req, client: Socket, head: Buffer) => {
      seen.push(`CONNECT ${req.url}`);
      if (opts.requireAuth && req.headers['proxy-authorization'] !== opts.requireAuth) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
        return;
      }
      const upstream = connect(Number(new URL(svc.https).port), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as AddressInfo).port;
    return {
      seen,
      url: `http://127.0.0.1:${port}`,
      close: () => {
        proxy.closeAllConnections();
        proxy.close();
      },
    };
  }

  test('HTTP_PROXY: an http URL is requested from the proxy in absolute form', async () => {
    srv.route('/via-proxy', (req, res) => {
      res.writeHead(200);
      res.end(`host=${req.headers.host}`);
    });
    const proxy = await startProxy();
    try {
      const res = await httpRequest('http://service.invalid/via-proxy', {
        env: { HTTP_PROXY: proxy.url },
        retry: { retries: 0 },
        timeoutMs: 5000,
      });
      expect(await res.text()).toBe('host=service.invalid');
      expect(proxy.seen).toEqual(['GET http://service.invalid/via-proxy host=service.invalid']);
    } finally {
      proxy.close();
    }
  });

  test('HTTPS_PROXY: an https URL goes through a CONNECT tunnel, and TLS is still verified end to end', async () => {
    const proxy = await startProxy();
    try {
      const env = { HTTPS_PROXY: proxy.url };
      const res = await httpRequest('https://service.invalid:8443/health', {
        env,
        insecure: true, // the service's certificate is self-signed for localhost
        retry: { retries: 0 },
        timeoutMs: 5000,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'UP' });
      expect(proxy.seen).toEqual(['CONNECT service.invalid:8443']);
      // Without `insecure` the self-signed certificate is refused, through the tunnel too.
      const err = await httpRequest('https://service.invalid:8443/health', {
        env,
        retry: { retries: 0 },
        timeoutMs: 5000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as Error).message).toMatch(/TLS error talking to service\.invalid:8443/);
    } finally {
      proxy.close();
    }
  });

  test('proxy credentials from the proxy URL are sent; a refused tunnel is a clear error', async () => {
    const auth = `Basic ${Buffer.from('kiln:s3cret').toString('base64')}`;
    const proxy = await startProxy({ requireAuth: auth });
    try {
      const res = await httpRequest('https://service.invalid:8443/health', {
        env: { HTTPS_PROXY: proxy.url.replace('http://', 'http://kiln:s3cret@') },
        insecure: true,
        retry: { retries: 0 },
      });
      expect(res.status).toBe(200);
      const err = await httpRequest('https://other.invalid/health', {
        env: { HTTPS_PROXY: proxy.url.replace('http://', 'http://kiln:wrong@') },
        insecure: true,
        retry: { retries: 0 },
      }).catch((e: unknown) => e);
      expect((err as Error).message).toContain(
        'the proxy refused to open a tunnel to other.invalid:443 (HTTP 407)',
      );
      expect((err as Error).message).not.toContain('wrong');
    } finally {
      proxy.close();
    }
  });

  test('a proxy that never opens the tunnel: the request times out connecting, it does not hang', async () => {
    const silent: Server = createServer();
    silent.on('connect', () => undefined); // takes the CONNECT, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const err = await httpRequest('https://service.invalid:8443/health', {
        env: { HTTPS_PROXY: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` },
        timeoutMs: 200,
        retry: { retries: 0 },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      expect((err as Error).message).toContain('timed out connecting to service.invalid:8443');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  test('NO_PROXY forms', () => {
    const u = (s: string) => new URL(s);
    expect(bypassProxy(u('https://api.example.com/'), 'example.com')).toBe(true);
    expect(bypassProxy(u('https://api.example.com/'), '.example.com')).toBe(true);
    expect(bypassProxy(u('https://example.org/'), 'example.com')).toBe(false);
    expect(bypassProxy(u('https://notexample.com/'), 'example.com')).toBe(false);
    expect(bypassProxy(u('http://10.1.2.3/'), '10.0.0.0/8')).toBe(true);
    expect(bypassProxy(u('http://11.1.2.3/'), '10.0.0.0/8')).toBe(false);
    expect(bypassProxy(u('http://reg:5000/'), 'reg:5000')).toBe(true);
    expect(bypassProxy(u('http://reg:5001/'), 'reg:5000')).toBe(false);
    expect(bypassProxy(u('http://[::1]:5000/'), '::1')).toBe(true);
    expect(bypassProxy(u('http://anything/'), '*')).toBe(true);
    expect(proxyFor(u('https://x/'), { HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'x' })).toBeUndefined();
    expect(proxyFor(u('https://y/'), { https_proxy: 'http://p:3128' })).toBe('http://p:3128');
    expect(proxyFor(u('http://y/'), { HTTPS_PROXY: 'http://p:3128' })).toBeUndefined();
  });
});
