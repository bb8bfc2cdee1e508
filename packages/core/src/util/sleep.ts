import { CancelledError } from '../errors.js';
import { MAX_DURATION_MS } from './duration.js';

/** A delay a timer can hold: negative → 0, past Node's limit → the limit (it would otherwise fire at once). */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_DURATION_MS);
}

/** Wait `ms`, or reject as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, timerDelay(ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError();
}
