/** A size limit as people read it: `4 MiB`, `2.5 MiB`, `64 KiB`. */
export function formatSize(n: number): string {
  const MiB = 1024 * 1024;
  return n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}
