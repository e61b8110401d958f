/**
 * DNS of the backend against FAKE helper and container VMs (fake-vms.ts):
 * names of removed containers leave every peer's snapshot at once, and the
 * upstream resolvers (backend option, network option) are validated and sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsNetworkBackend, type OvsNetworkBackendOptions } from '../src/backend.js';
import { DNS_UPSTREAMS_OPTION } from '../src/dns-upstreams.js';
import { isBackendError } from '../src/errors.js';
import { rejection, startFakeVm } from './fake-backend.js';
import { type FakeForwarder, FakeHelper } from './fake-vms.js';

let root: string;
let calls: string[];
let helper: FakeHelper;
const vms: FakeForwarder[] = [];
const backends: OvsNetworkBackend[] = [];

function options(dnsUpstreams?: string[]): OvsNetworkBackendOptions {
  return {
    stateFile: join(root, 'state.db'),
    helper: { kind: 'unixdir', dir: join(root, 'helper') },
    helperWatchMs: 0,
    client: { deadlineMs: 3000, retryUnavailableMs: 500 },
    ...(dnsUpstreams ? { dnsUpstreams } : {}),
  };
}

async function open(dnsUpstreams?: string[]): Promise<OvsNetworkBackend> {
  const b = await OvsNetworkBackend.open(options(dnsUpstreams));
  backends.push(b);
  return b;
}

async function startVm(b: OvsNetworkBackend, n: number, name: string): Promise<FakeForwarder> {
  return startFakeVm(b, { root, calls, n, name, started: (vm) => vms.push(vm) });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'arca-host-dns-'));
  calls = [];
  helper = new FakeHelper(join(root, 'helper'), calls);
  await helper.start();
});

afterEach(async () => {
  for (const b of backends.splice(0)) await b.close();
  for (const vm of vms.splice(0)) await vm.stop();
  await helper.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('DNS of removed and stopped containers', () => {
  it('unregisterContainer pushes the peers a snapshot without the removed name', async () => {
    const b = await open();
    await b.createNetwork({ name: 'front', subnet: '10.30.0.0/24' });
    const one = await startVm(b, 1, 'one');
    await startVm(b, 2, 'tmp1');
    await b.connect('one', 'front');
    await b.connect('tmp1', 'front');
    expect(one.lastDns()).toEqual({ front: ['one=10.30.0.2', 'tmp1=10.30.0.3'] });
    await b.unregisterContainer('tmp1');
    expect(one.lastDns()).toEqual({ front: ['one=10.30.0.2'] });
  });
});

describe('upstream resolvers', () => {
  it('the backend option is validated at open and sent with every snapshot', async () => {
    const bad = await rejection(open(['192.0.2.1', 'dns.example']));
    expect(isBackendError(bad) && bad.code).toBe('INVALID_OPTION');
    expect(bad.message).toContain('"dns.example"');
    const b = await open(['203.0.113.53', '203.0.113.54:5353']);
    await b.createNetwork({ name: 'front', subnet: '10.30.0.0/24' });
    const one = await startVm(b, 1, 'one');
    await b.connect('one', 'front');
    expect(one.dnsSnapshots.at(-1)?.upstreamServers).toEqual(['203.0.113.53', '203.0.113.54:5353']);
  });

  it("a network's own upstreams win and a bad one refuses the network", async () => {
    const b = await open(['203.0.113.53']);
    const bad = await rejection(
      b.createNetwork({ name: 'x', options: { [DNS_UPSTREAMS_OPTION]: '203.0.113.9:99999' } }),
    );
    expect(isBackendError(bad) && bad.code).toBe('INVALID_OPTION');
    expect(await b.listNetworks()).toEqual([]);
    await b.createNetwork({
      name: 'own',
      subnet: '10.31.0.0/24',
      options: { [DNS_UPSTREAMS_OPTION]: '198.51.100.53, 198.51.100.54' },
    });
    const one = await startVm(b, 1, 'one');
    await b.connect('one', 'own');
    expect(one.dnsSnapshots.at(-1)?.upstreamServers).toEqual(['198.51.100.53', '198.51.100.54']);
  });
});
