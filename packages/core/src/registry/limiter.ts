/**
 * A small concurrency limiter: at most `limit` tasks run at once, the rest wait in order. Only leaf work (one
 * blob transfer, one request) should go through it; a task that waits for other limited tasks while holding
 * a slot could deadlock.
 */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  let running = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    if (running >= limit) return;
    const start = queue.shift();
    if (start) {
      running++;
      start();
    }
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            running--;
            next();
          });
      });
      next();
    });
}
