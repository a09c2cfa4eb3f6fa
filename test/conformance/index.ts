// Registers an adapter with every shared suite: the store contract, then the registrar on top of it.
import { testRegistrarOn } from './registrar.ts';
import { testStore, type StoreHarness } from './suite.ts';

export type { StoreHandle, StoreHarness } from './suite.ts';

export function testAdapter(name: string, harness: StoreHarness): void {
  // Every case still shows, as skipped, with the reason in its suite's name; and this one line says why.
  if (harness.skip !== undefined) console.warn(`\n*** ${name} store NOT TESTED, its conformance and registrar cases are skipped: ${harness.skip} ***\n`);
  testStore(name, harness);
  testRegistrarOn(name, harness);
}
