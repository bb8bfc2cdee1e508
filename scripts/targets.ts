/** The bundles Kiln ships: one per action (dist/<name>/) and the CLI (dist/cli/). */
import { actions } from '@kiln/cli';

export interface BundleTarget {
  name: string;
  entry: string;
}

export function bundleTargets(): BundleTarget[] {
  return [
    ...actions.map((a) => ({ name: a.spec.name, entry: `actions/${a.spec.name}/src/index.ts` })),
    { name: 'cli', entry: 'packages/cli/src/index.ts' },
  ];
}
