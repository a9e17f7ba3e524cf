/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    // Type checking is done by `npm run lint` (tsc --noEmit); tests only transpile.
    '^.+\\.ts$': 'ts-jest',
  },
  testTimeout: 30000,
};
