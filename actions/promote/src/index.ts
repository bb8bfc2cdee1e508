// GitHub Actions entry point (bundled to dist/promote/index.js).
import { runMain } from '@kiln/core';
import { action } from './action.js';

await runMain(action);
