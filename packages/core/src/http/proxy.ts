/**
 * Proxy selection the way curl and most CI tools read it: `HTTPS_PROXY`/`https_proxy` for https URLs,
 * `HTTP_PROXY`/`http_proxy` for http, and `NO_PROXY`/`no_proxy` as a comma list of hosts, domain suffixes
 * (`.example.com` or `example.com`), `host:port`, IP addresses, CIDR blocks or `*`.
 */
import { isIP } from 'node:net';

export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const proxy =
    url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!proxy) return undefined;
  return bypassProxy(url, env.NO_PROXY ?? env.no_proxy ?? '') ? undefined : proxy;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

export function bypassProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(entry);
    if (cidr && isIP(host) === 4) {
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((ipv4ToInt(host) & mask) === (ipv4ToInt(cidr[1] as string) & mask)) return true;
      continue;
    }
    if (isIP(entry)) {
      if (host === entry) return true;
      continue;
    }
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+)(?::(\d+))?$/.exec(entry);
    if (!m) continue;
    const eHost = (m[1] as string).replace(/^\*?\./, '');
    if (m[2] && m[2] !== port) continue;
    if (host === eHost || host.endsWith(`.${eHost}`)) return true;
  }
  return false;
}
