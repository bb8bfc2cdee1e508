/** Marathon: client, app definitions, deployment with wait / fail-fast / rollback, reporting. */
export * from './json.js';
export * from './auth.js';
export * from './client.js';
export * from './definition.js';
export * from './diff.js';
export * from './wait.js';
export * from './deploy.js';
export * from './report.js';
export * from './inputs.js';
export * from './normalize.js';
