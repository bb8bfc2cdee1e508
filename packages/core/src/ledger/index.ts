/**
 * The release ledger: entries (entry.ts), the rules that read them (history.ts), release ids (id.ts), and the
 * backends — a file, the registry, GitHub Deployments, GitLab deployments. The glue is action/ledger.ts.
 */
export * from './entry.js';
export * from './history.js';
export * from './id.js';
export { FileLedger } from './file.js';
export { RegistryLedger, ledgerTag, entryTagPrefix } from './registry.js';
