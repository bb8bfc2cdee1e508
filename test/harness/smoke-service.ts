/**
 * A small service for smoke-test tests, over HTTP and HTTPS (a self-signed certificate made with openssl,
 * valid 30 days): health with JSON, a route that flips healthy after N requests, one whose body is wrong for
 * the first N requests, a slow one, one that never answers, an orders API for captures, and one that echoes
 * the Authorization header (to prove secrets are masked).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmokeService {
  http: string;
  https: string;
  counts: Map<string, number>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startSmokeService(): Promise<SmokeService> {
  const counts = new Map<string, number>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const n = (counts.get(url.pathname) ?? 0) + 1;
    counts.set(url.pathname, n);
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      switch (url.pathname) {
        case '/health':
          return json(
            res,
            200,
            { status: 'UP', version: '1.2.3', items: [1, 2, 3], total: 42 },
            { 'x-version': '1.2.3' },
          );
        case '/flip':
          return n > Number(url.searchParams.get('after') ?? 3)
            ? json(res, 200, { status: 'UP' })
            : json(res, 503, { status: 'STARTING' });
        case '/flaky-assert':
          return json(res, 200, { status: n > 2 ? 'UP' : 'DOWN' });
        case '/slow':
          return void setTimeout(
            () => json(res, 200, { status: 'UP' }),
            Number(url.searchParams.get('ms') ?? 300),
          );
        case '/hang':
          return;
        case '/orders':
          if (req.method === 'POST') {
            const item = (JSON.parse(body || '{}') as { item?: string }).item;
            return json(res, 201, { id: 77, item }, { location: '/orders/77' });
          }
          return json(res, 405, {});
        case '/orders/77':
          return json(res, 200, { id: 77 });
        case '/echo-auth':
          return json(res, 401, { message: `rejected ${req.headers.authorization ?? ''}` });
        case '/text':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('plain text, not JSON');
        default:
          return json(res, 404, { message: 'not found' });
      }
    });
  };
  const dir = mkdtempSync(join(tmpdir(), 'kiln-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  const plain: Server = createServer(handler);
  const tls: HttpsServer = createHttps(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    handler,
  );
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  return {
    http: `http://127.0.0.1:${(plain.address() as AddressInfo).port}`,
    https: `https://127.0.0.1:${(tls.address() as AddressInfo).port}`,
    counts,
    close: async () => {
      for (const s of [plain, tls]) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
