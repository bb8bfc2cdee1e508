// GitHub Actions entry point (bundled to dist/deploy-marathon/index.js).
import { runMain } from '@kiln/core';
import { action } from './action.js';

await runMain(action);
