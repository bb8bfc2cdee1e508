/** Every Kiln action, in pipeline order: the CLI, the generators and the tests read this one list. */
import type { ActionDefinition } from '@kiln/core';
import { action as smokeTest } from '@kiln/action-smoke-test';
import { action as deployMarathon } from '@kiln/action-deploy-marathon';

export const actions: readonly ActionDefinition[] = [
  smokeTest as unknown as ActionDefinition,
  deployMarathon as unknown as ActionDefinition,
];

export function findAction(name: string): ActionDefinition | undefined {
  return actions.find((a) => a.spec.name === name);
}
