/** Marathon: client, app definitions, normalization and diff, deployment with wait / fail-fast / rollback. */
export * from '../util/json.js';
export * from './auth.js';
export * from './client.js';
export * from './definition.js';
export * from './diff.js';
export * from './wait.js';
export * from './deploy.js';
export * from './normalize.js';
