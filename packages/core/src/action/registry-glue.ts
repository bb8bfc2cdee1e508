/** push-registry's and promote's glue, in one namespace: inputs, the copy-runner, outputs and the summary. */
export * from './registry.js';
export * from './registry-report.js';
/** promote's ledger glue: the verification gate, `@last-verified`, the promote entry. */
export * from './registry-ledger.js';
