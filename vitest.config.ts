import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'adapters/**/*.test.ts'],
    exclude: ['test/workers/**', 'node_modules/**'],
    // Each starts its service on a random loopback port, or says loudly why it cannot.
    globalSetup: ['test/services/dynamodb.ts', 'test/services/firestore.ts', 'test/services/zookeeper.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
  },
});
