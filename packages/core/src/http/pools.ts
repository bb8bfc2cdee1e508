/**
 * The HTTP layer's keep-alive pools: one agent per route (protocol, proxy, TLS verification), filled by http.ts.
 * They live apart from http.ts so that `runMain` can close them at the end of every run without loading Node's
 * HTTP and TLS stack when no request was made (a bad input is answered without it).
 */
import type { Agent } from 'node:http';

export interface Route {
  agent: Agent;
  /** Set when an http URL goes through a proxy: requests are sent to it in absolute form. */
  proxy?: URL;
}

export const routes = new Map<string, Route>();

/** Close pooled connections (tests; a process exits without it: idle connections do not hold it open). */
export function closeHttpPools(): Promise<void> {
  const all = [...routes.values()];
  routes.clear();
  for (const r of all) r.agent.destroy();
  return Promise.resolve();
}
