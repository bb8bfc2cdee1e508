// GitHub Actions entry point (bundled to dist/smoke-test/index.js).
import { runMain } from '@kiln/core';
import { action } from './action.js';

await runMain(action);
