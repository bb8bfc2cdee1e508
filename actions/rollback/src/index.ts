// GitHub Actions entry point (bundled to dist/rollback/index.js).
import { runMain } from '@kiln/core/start';
// The spec and a thin main: the work is loaded from run.ts when the action runs (README: Adding an action).
import { action } from './action.js';

await runMain(action);
