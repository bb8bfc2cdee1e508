/** A Logger that prints nothing, for tests of domain code that do not look at the log. */
import type { Logger } from '../../packages/core/src/platform/types.js';

export const quietLogger: Logger = {
  debugEnabled: false,
  debug: () => undefined,
  info: () => undefined,
  notice: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  startGroup: () => undefined,
  endGroup: () => undefined,
  group: (_t, fn) => fn(),
};
