/**
 * Every Kiln action, in pipeline order: the CLI, the generators and the tests read this one list. Each action
 * is loaded only when it is needed, so `kiln <action>` parses only that action's code (the bundler puts each
 * in its own chunk beside dist/cli/index.js).
 */
import type { ActionDefinition } from '@kiln/core/start';

const loaders = {
  'bake-image': () => import('@kiln/action-bake-image'),
  'push-registry': () => import('@kiln/action-push-registry'),
  promote: () => import('@kiln/action-promote'),
  'deploy-marathon': () => import('@kiln/action-deploy-marathon'),
  'deploy-k8s': () => import('@kiln/action-deploy-k8s'),
  'smoke-test': () => import('@kiln/action-smoke-test'),
  rollback: () => import('@kiln/action-rollback'),
} as const;

export type ActionName = keyof typeof loaders;

export const actionNames = Object.keys(loaders) as ActionName[];

export function isActionName(name: string): name is ActionName {
  return Object.hasOwn(loaders, name);
}

export async function loadAction(name: ActionName): Promise<ActionDefinition> {
  return (await loaders[name]()).action as unknown as ActionDefinition;
}

export function loadActions(): Promise<ActionDefinition[]> {
  return Promise.all(actionNames.map(loadAction));
}
