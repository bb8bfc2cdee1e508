/** deploy-marathon's action glue, in one namespace: its inputs (marathon.ts), its run (marathon-deploy.ts), its outputs and summary. */
export * from './marathon.js';
export * from './marathon-report.js';
export * from './marathon-deploy.js';
