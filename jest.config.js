// Three projects: `unit` (fast, parallel: unit, conformance, integration),
// `e2e` (real Envoy and other peers, run in band) and `backstage` (real
// Backstage parts, integrations/backstage). `npm test` runs all three.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
      module: { type: 'es6' },
    },
  ],
};
const common = {
  // The port guard: for the run, 127.0.0.1 ports `npm start` and the
  // quickstarts use are held, so a test that binds one fails in every run,
  // not only beside a developer's `npm start` (test/support/port-guard.ts).
  // One module path for both projects: jest runs it once per run.
  globalSetup: '<rootDir>/test/support/port-guard.ts',
  globalTeardown: '<rootDir>/test/support/port-guard-teardown.ts',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform,
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/test/unit/**/*.test.ts',
        '<rootDir>/test/conformance/**/*.test.ts',
        '<rootDir>/test/integration/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
    {
      // Real Backstage parts, installed apart (integrations/backstage/package.json):
      // the setup file fails every test with the install command when they are missing.
      ...common,
      displayName: 'backstage',
      testMatch: ['<rootDir>/integrations/backstage/**/*.test.{ts,tsx}'],
      testPathIgnorePatterns: ['/node_modules/'],
      extensionsToTreatAsEsm: ['.ts', '.tsx'],
      transform: {
        ...transform,
        // The frontend plugin and its card tests (React's automatic JSX runtime).
        '^.+\\.tsx$': [
          '@swc/jest',
          {
            jsc: {
              parser: { syntax: 'typescript', tsx: true },
              transform: { react: { runtime: 'automatic' } },
              target: 'es2023',
            },
            module: { type: 'es6' },
          },
        ],
        // Backstage's frontend packages ship ES modules as `.esm.js` in
        // packages without `"type": "module"`, which jest loads as CommonJS.
        '/node_modules/.+\\.esm\\.js$': [
          '@swc/jest',
          { jsc: { target: 'es2023' }, module: { type: 'commonjs' } },
        ],
        '\\.svg$': '<rootDir>/integrations/backstage/test/support/asset-transform.js',
      },
      transformIgnorePatterns: ['/node_modules/(?!@backstage/)'],
      setupFiles: ['<rootDir>/integrations/backstage/test/support/installed.ts'],
    },
  ],
};
