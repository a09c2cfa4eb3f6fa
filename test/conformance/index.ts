// Registers an adapter with every shared suite: the store contract, then the registrar on top of it.
import { testRegistrarOn } from './registrar.ts';
import { testStore, type StoreHarness } from './suite.ts';

export type { StoreHandle, StoreHarness } from './suite.ts';

export function testAdapter(name: string, harness: StoreHarness): void {
  testStore(name, harness);
  testRegistrarOn(name, harness);
}
