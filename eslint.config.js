import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Only platform/github.ts talks to the runner. */
const actionsCore = {
  name: '@actions/core',
  message: 'Use the Platform given to you; only platform/github.ts talks to the runner.',
};

/**
 * The layering: domain code (what talks to registries, Marathon, Kubernetes, HTTP targets, child processes) takes
 * the Platform/Logger it is given and knows nothing of actions, inputs or summaries; the glue that turns inputs
 * into domain options and results into outputs and summaries lives in packages/core/src/action/.
 */
const DOMAINS = [
  'http',
  'exec',
  'image',
  'registry',
  'marathon',
  'smoke',
  'deploy',
  'kube',
  'bake',
  'ledger',
  'util',
];
const layerRule = {
  files: DOMAINS.map((d) => `packages/core/src/${d}/**/*.ts`),
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [actionsCore],
        patterns: [
          {
            group: ['**/action/*', '**/action', '**/inputs/*', '**/platform/summary*'],
            message:
              'Domain code never imports the action layer (action/, inputs/, summaries): put the glue in packages/core/src/action/.',
          },
          {
            group: [
              '**/platform/github*',
              '**/platform/gitlab*',
              '**/platform/terminal*',
              '**/platform/detect*',
              '**/platform/base*',
            ],
            message:
              'Domain code takes the Platform/Logger it is given (platform/types.ts), never a concrete platform.',
          },
          {
            group: ['@kiln/*', '@actions/*'],
            message: 'Domain code imports only its own package, by relative path.',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        {
          paths: [actionsCore],
        },
      ],
    },
  },
  layerRule,
  {
    files: ['packages/core/src/platform/github.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
