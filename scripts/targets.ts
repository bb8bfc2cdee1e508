/** The bundles Kiln ships: one per action (dist/<name>/) and the CLI (dist/cli/). */
import { actionNames } from '../packages/cli/src/actions.js';

export interface BundleTarget {
  name: string;
  entry: string;
}

export function bundleTargets(): BundleTarget[] {
  return [
    ...actionNames.map((name) => ({ name, entry: `actions/${name}/src/index.ts` })),
    { name: 'cli', entry: 'packages/cli/src/index.ts' },
  ];
}
