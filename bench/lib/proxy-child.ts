/**
 * Runs test/sim/registry's counting fault proxy in its own process (started by ./proxy.ts), so the proxy does
 * not share an event loop with an in-process client under measurement. argv: <target url> <latency ms>.
 * IPC: it sends `{ ready: url }` once listening; it answers `'reset'` with `{ ok: true }` and `'stats'` with a
 * {@link ProxyCounts}; `'close'` closes it and exits.
 */
import { startFaultProxy } from '../../test/sim/registry/fault-proxy.js';
import type { ProxyCounts } from './proxy.js';

const [target, latency] = process.argv.slice(2);
if (!target || !process.send) throw new Error('usage: proxy-child.ts <target url> <latency ms> (with IPC)');
const latencyMs = Number(latency ?? 0);
const proxy = await startFaultProxy(target, { latencyMs });

/**
 * Sequential round trips: requests grouped by arrival, a new group when a request arrives more than half the
 * latency after the first of the current group (requests sent together arrive within a few ms; a request that
 * waited for an answer arrives at least one latency later).
 */
function roundTrips(arrivals: number[]): number {
  let groups = 0;
  let groupStart = -Infinity;
  for (const at of [...arrivals].sort((a, b) => a - b)) {
    if (at - groupStart > latencyMs / 2) {
      groups++;
      groupStart = at;
    }
  }
  return groups;
}
const send = (msg: unknown) => process.send!(msg);

process.on('message', (msg: unknown) => {
  if (msg === 'reset') {
    proxy.resetStats();
    send({ ok: true });
  } else if (msg === 'stats') {
    const s = proxy.stats();
    const mounts = s.log.filter((e) => /[?&]mount=/.test(e.path));
    const counts: ProxyCounts = {
      requests: s.requests,
      uploadedBytes: s.uploadedBytes,
      downloadedBytes: s.downloadedBytes,
      byRoute: s.byRoute,
      mountsTried: mounts.length,
      mounted: mounts.filter((e) => e.status === 201).length,
      roundTrips: roundTrips(s.log.map((e) => e.at)),
      statuses: s.log.reduce<Record<string, number>>((acc, e) => {
        acc[e.status] = (acc[e.status] ?? 0) + 1;
        return acc;
      }, {}),
    };
    send(counts);
  } else if (msg === 'close') {
    void proxy.close().then(() => process.exit(0));
  }
});
process.on('disconnect', () => void proxy.close().then(() => process.exit(0)));
send({ ready: proxy.url });
