/**
 * Local HTTP and HTTPS servers for tests: scripted routes, request log, and a switch to turn a route healthy
 * later ("the new version comes up"). Loopback only, ephemeral ports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface TestServer {
  url: string;
  port: number;
  requests: Array<{ method: string; path: string; headers: IncomingMessage['headers']; body: string }>;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Handler> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] as string;
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const h = table.get(path);
      if (h) h(req, res, body);
      else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    route: (path, handler) => table.set(path, handler),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

export function status(code: number, body = ''): Handler {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(body);
  };
}

/** Fails with `code` for the first `n` requests, then answers 200. */
export function healthyAfter(n: number, code = 503): Handler {
  let count = 0;
  return (req, res, body) => (++count > n ? ok(req, res, body) : status(code, 'starting')(req, res, body));
}

/** A free port nothing listens on (for connection-refused cases). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
