import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';
import { WORKER_TEST_BINDINGS } from './test/workers/bindings.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'adapters/**/*.test.ts'],
          exclude: ['test/workers/**', 'node_modules/**'],
          // Each starts its service on a random loopback port, or says loudly why it cannot.
          globalSetup: ['test/services/dynamodb.ts', 'test/services/firestore.ts', 'test/services/zookeeper.ts', 'test/services/etcd.ts'],
          testTimeout: 20_000,
          hookTimeout: 120_000,
        },
      },
      {
        // Inside workerd (Miniflare), with wrangler.toml's Worker and Durable Object.
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' }, miniflare: { bindings: WORKER_TEST_BINDINGS } })],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          exclude: ['test/workers/**/*.node.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The AWS CDK app, synthesized offline and checked with aws-cdk-lib/assertions.
        test: {
          name: 'infra',
          include: ['infra/**/*.test.ts'],
          testTimeout: 120_000,
          // Synthesizing the stack takes a few seconds alone and much longer on a loaded machine.
          hookTimeout: 120_000,
        },
      },
      {
        // The deployable bundle (wrangler's dry run) on Miniflare, driven from Node.
        test: {
          name: 'workers-bundle',
          include: ['test/workers/**/*.node.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
