/** A Logger that prints nothing, for tests of domain code that do not look at the log. */
export { silentLogger as quietLogger } from '../../packages/core/src/platform/logger.js';
