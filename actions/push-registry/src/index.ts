// GitHub Actions entry point (bundled to dist/push-registry/index.js).
import { closeHttpPools, runAction } from '@kiln/core';
import { action } from './action.js';

await runAction(action, { argv: process.argv.slice(2) });
// Kept-alive connections are done with: close them rather than wait for the servers to.
await closeHttpPools();
