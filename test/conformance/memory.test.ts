import { createMemoryStore } from '../../adapters/memory/index.ts';
import { testAdapter } from './index.ts';

testAdapter('memory', { open: async () => ({ store: createMemoryStore() }) });
