/** Jest runs the TypeScript sources as ESM (ts-jest, transpile only; `npm run typecheck` type-checks). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    '^@kiln/core$': '<rootDir>/packages/core/src/index.ts',
    '^@kiln/core/start$': '<rootDir>/packages/core/src/start.ts',
    '^@kiln/action-(.*)$': '<rootDir>/actions/$1/src/action.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 60000,
  maxWorkers: 2,
};
