/**
 * What the backend suites on FAKE VMs (fake-vms.ts) share: container ids,
 * a started and registered fake container VM, and the error a promise
 * rejects with.
 */
import { join } from 'node:path';
import type { OvsNetworkBackend } from '../src/backend.js';
import { FakeForwarder } from './fake-vms.js';

/** The 64-hex id of fake container `n` (`n` repeated, then f's). */
export const ID = (n: number): string => `${String(n).repeat(12)}${'f'.repeat(52)}`.slice(0, 64);

/**
 * Starts a FAKE container VM `name` in `<root>/vm-<name>` (recording its calls
 * in `calls`) and registers it with `backend` as running container `n`;
 * `started` gets the VM before the registration (to stop it whatever happens).
 */
export async function startFakeVm(
  backend: OvsNetworkBackend,
  options: {
    root: string;
    calls: string[];
    n: number;
    name: string;
    started: (vm: FakeForwarder) => void;
  },
): Promise<FakeForwarder> {
  const { root, calls, n, name, started } = options;
  const vm = new FakeForwarder(name, join(root, `vm-${name}`), calls);
  await vm.start();
  started(vm);
  await backend.registerContainer({
    id: ID(n),
    name,
    endpoint: { kind: 'unixdir', dir: vm.dir },
    running: true,
  });
  return vm;
}

/** The error `p` rejects with; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
