/** deploy-marathon's action glue, in one namespace: its inputs (marathon.ts) and its outputs and summary. */
export * from './marathon.js';
export * from './marathon-report.js';
