// GitHub Actions entry point (bundled to dist/promote/index.js).
import { runAction } from '@kiln/core';
import { action } from './action.js';

await runAction(action, { argv: process.argv.slice(2) });
