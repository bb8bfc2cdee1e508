// GitHub Actions entry point (bundled to dist/push-registry/index.js).
import { runAction } from '@kiln/core';
import { action } from './action.js';

await runAction(action, { argv: process.argv.slice(2) });
