/**
 * Published ports of OvsNetworkBackend against FAKE helper and forwarder
 * servers (fake-vms.ts), with real host listeners: the order of listener and
 * load balancer, release on stop (and return at start), on disconnect and on
 * removal, and nothing left when the helper refuses. Traffic through the
 * real helper is in test/e2e/ports.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerError, Status } from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OvsNetworkBackend } from '../src/backend.js';
import { FakeForwarder, FakeHelper } from './fake-vms.js';

let root: string;
let calls: string[];
let helper: FakeHelper;
let vm: FakeForwarder;
let backend: OvsNetworkBackend;

const ID = `${'1'.repeat(12)}${'f'.repeat(52)}`;

function open(): Promise<OvsNetworkBackend> {
  return OvsNetworkBackend.open({
    stateFile: join(root, 'state.db'),
    helper: { kind: 'unixdir', dir: helper.dir },
    helperWatchMs: 0,
    client: { deadlineMs: 3000, retryUnavailableMs: 0 },
  });
}

/** Registers the VM as running container one and connects it to front. */
async function registerOne(): Promise<void> {
  await backend.registerContainer({
    id: ID,
    name: 'one',
    endpoint: { kind: 'unixdir', dir: vm.dir },
    running: true,
  });
  await backend.connect('one', 'front');
}

/** Whether 127.0.0.1:port accepts a TCP connection. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Whether this process can bind 127.0.0.1:port itself (nothing holds it). */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'arca-host-publish-'));
  calls = [];
  helper = new FakeHelper(join(root, 'helper'), calls);
  await helper.start();
  backend = await open();
  await backend.createNetwork({ name: 'front', subnet: '10.20.0.0/24' });
  vm = new FakeForwarder('one', join(root, 'vm-one'), calls);
  await vm.start();
  await registerOne();
});

afterEach(async () => {
  try {
    await backend?.close();
    await vm?.stop();
    await helper.stop();
  } finally {
    // Also when a set-up step failed: no arca-host-publish-* directory is left in /tmp.
    rmSync(root, { recursive: true, force: true });
  }
});

const published = () => calls.filter((c) => /^helper\.(Un)?[pP]ublishPort/.test(c));

describe('published ports', () => {
  it('listen on the host, then get their load balancer; attachments and ports() show them', async () => {
    const [binding] = await backend.publish('one', ['127.0.0.1:0:80']);
    const port = binding?.hostPort ?? 0;
    expect(port).toBeGreaterThan(0);
    expect(await accepts(port)).toBe(true);
    expect(published()).toEqual([`helper.PublishPort tcp/${port}`]);
    expect((await backend.listAttachments())[0]?.ports).toEqual([
      {
        hostIp: '127.0.0.1',
        hostPort: port,
        containerPort: 80,
        protocol: 'tcp',
        networkId: (await backend.inspectNetwork('front')).Id,
        externalAddress: `198.51.100.2:${port}`,
      },
    ]);
    expect(await backend.ports('one', '80/tcp')).toHaveLength(1);
    await expect(backend.ports('one', '80/udp')).rejects.toThrow(
      "No public port '80/udp' published for one",
    );
  });

  it('are released on stop and come back at start on the same port', async () => {
    const [first] = await backend.publish('one', ['127.0.0.1:0:80']);
    const port = first?.hostPort ?? 0;
    await backend.unregisterContainer('one');
    await registerOne();
    calls.length = 0;
    // That port is free again: publish it as a fixed one.
    await backend.publish('one', [`127.0.0.1:${port}:80`]);
    await backend.containerStopped('one');
    expect(await accepts(port)).toBe(false);
    expect(await backend.ports('one')).toEqual([]);
    // The VM comes back (a new forwarder, as after a real stop).
    await vm.stop();
    vm = new FakeForwarder('one', join(root, 'vm-one'), calls);
    await vm.start();
    await backend.containerStarted('one');
    expect(await accepts(port)).toBe(true);
    expect(published()).toEqual([
      `helper.PublishPort tcp/${port}`,
      `helper.UnpublishPort tcp/${port}`,
      `helper.PublishPort tcp/${port}`,
    ]);
  });

  it('are released on disconnect and on removal', async () => {
    const [a] = await backend.publish('one', ['127.0.0.1:0:80']);
    await backend.disconnect('one', 'front');
    expect(await accepts(a?.hostPort ?? 0)).toBe(false);
    await backend.connect('one', 'front');
    const [b] = await backend.publish('one', ['127.0.0.1:0:81']);
    await backend.unregisterContainer('one');
    expect(await accepts(b?.hostPort ?? 0)).toBe(false);
    expect(published().filter((c) => c.startsWith('helper.UnpublishPort'))).toHaveLength(2);
  });

  it('come back after a daemon restart (reconcile), and get their load balancer back after a helper restart', async () => {
    const [first] = await backend.publish('one', ['127.0.0.1:0:80']);
    const port = first?.hostPort ?? 0;
    await backend.unregisterContainer('one');
    await registerOne();
    await backend.publish('one', [`127.0.0.1:${port}:80`]);
    await backend.close();
    expect(await accepts(port)).toBe(false);
    backend = await open();
    calls.length = 0;
    await backend.reconcile();
    expect(await accepts(port)).toBe(true);
    expect(published()).toEqual([`helper.PublishPort tcp/${port}`]);
    helper.restartInPlace();
    calls.length = 0;
    await backend.reconcile();
    expect(published()).toEqual([`helper.PublishPort tcp/${port}`]);
    expect(await accepts(port)).toBe(true);
    await backend.unregisterContainer('one');
    await backend.close();
    backend = await open();
    await backend.reconcile();
    expect(await accepts(port)).toBe(false);
  });

  it('take the first free port of a host range, skipping one another process holds', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    const held = typeof address === 'object' && address ? address.port : 0;
    try {
      const [binding] = await backend.publish('one', [`127.0.0.1:${held}-${held + 20}:80`]);
      expect(binding?.hostPort).toBeGreaterThan(held);
      expect(binding?.hostPort).toBeLessThanOrEqual(held + 20);
      expect(await accepts(binding?.hostPort ?? 0)).toBe(true);
    } finally {
      holder.close();
    }
  });

  it('leave no listener and no load balancer when the helper refuses one of them', async () => {
    const [first] = await backend.publish('one', ['127.0.0.1:0:70']);
    const port = (first?.hostPort ?? 0) + 1;
    helper.failures.set('PublishPort', new ServerError(Status.INTERNAL, 'ovn-nbctl exploded'));
    await expect(
      backend.publish('one', ['127.0.0.1:0:80', `127.0.0.1:${port}:81`]),
    ).rejects.toThrow('ovn-nbctl exploded');
    expect(await backend.ports('one')).toHaveLength(1);
    expect(await bindable(port)).toBe(true);
  });
});
