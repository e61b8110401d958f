/**
 * OvsNetworkBackend end to end: the real controller (OVS + OVN in a helper
 * namespace) and real forwarders (one namespace per container), the backend
 * and its native relays in this process, everything reached through
 * `unixdir:` endpoints. Needs root.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBackendError, OvsNetworkBackend } from '../../packages/host/dist/index.js';
import { NetworkNamespace, uniqueSuffix } from '../../packages/lab/dist/index.js';
import {
  type ForwarderProcess,
  HelperOvn,
  helperClient,
  type NsProcess,
  reaches,
  startControllerProcess,
  startForwarderProcess,
} from './harness.js';

const sfx = uniqueSuffix();
const ID = (n: number) => createHash('sha256').update(`${sfx}-${n}`).digest('hex');

let root: string;
let helper: HelperOvn;
let controller: NsProcess;
const containers: Array<{
  ns: NetworkNamespace;
  dir: string;
  fwd: ForwarderProcess;
  name: string;
  id: string;
}> = [];
let backend: OvsNetworkBackend;

const helperDir = () => join(root, 'helper');

async function openBackend(): Promise<OvsNetworkBackend> {
  const b = await OvsNetworkBackend.open({
    stateFile: join(root, 'state.db'),
    helper: { kind: 'unixdir', dir: helperDir() },
    helperWatchMs: 0,
  });
  for (const c of containers) {
    await b.registerContainer({
      id: c.id,
      name: c.name,
      endpoint: { kind: 'unixdir', dir: c.dir },
      running: true,
    });
  }
  return b;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Pings until one reply arrives or the bound passes (OVN installs flows asynchronously). */
async function pingEventually(
  ns: NetworkNamespace,
  ip: string,
  timeoutMs = 30_000,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await reaches(ns, ip, 1)) return true;
  }
  return false;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), `ahost-${sfx}-`));
  helper = await HelperOvn.start(`ahh${sfx}`);
  controller = await startControllerProcess(helper, helperDir());
  for (const [i, name] of ['alpha', 'beta'].entries()) {
    const ns = await NetworkNamespace.create(`ahc${sfx}${i}`);
    const dir = join(root, `vm-${name}`);
    const fwd = await startForwarderProcess(ns, dir);
    containers.push({ ns, dir, fwd, name: `${name}${sfx}`, id: ID(i + 1) });
  }
  backend = await openBackend();
});

afterAll(async () => {
  await backend?.close();
  for (const c of containers) {
    await c.fwd.stop();
    await c.ns.delete();
  }
  await controller?.stop();
  await helper?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('OvsNetworkBackend with the real controller and forwarders', () => {
  it('two containers on one network ping each other and resolve each other by name', async () => {
    const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
    await backend.createNetwork({ name: `web${sfx}`, subnet: '198.51.100.0/24' });
    const atA = await backend.connect(a.name, `web${sfx}`);
    const atB = await backend.connect(b.name, `web${sfx}`, { aliases: ['db'] });
    expect(atA).toMatchObject({ device: 'eth0', ip: '198.51.100.2', status: 'ready' });
    expect(atB.ip).toBe('198.51.100.3');
    const links = (await a.ns.run(['ip', '-j', 'addr', 'show', 'eth0'])).stdout;
    expect(links).toContain('198.51.100.2');
    expect(links).toContain(atA.mac);
    expect(await pingEventually(a.ns, atB.ip)).toBe(true);
    const dig = await a.ns.run(['dig', '+short', '+tries=1', '+time=2', '@127.0.0.11', 'db']);
    expect(dig.stdout.trim()).toBe(atB.ip);
    const inspect = await backend.inspectNetwork(`web${sfx}`);
    expect(inspect.IPAM.Config).toEqual([{ Subnet: '198.51.100.0/24', Gateway: '198.51.100.1' }]);
    expect(
      Object.values(inspect.Containers)
        .map((c) => c.IPv4Address)
        .sort(),
    ).toEqual(['198.51.100.2/24', '198.51.100.3/24']);
  });

  it("Docker's errors leave the helper's networks unchanged", async () => {
    const h = await helperClient(helperDir());
    try {
      const before = await h.client.listBridges({});
      const table: Array<[Promise<unknown>, string]> = [
        [
          backend.createNetwork({ name: `web${sfx}` }),
          `network with name web${sfx} already exists`,
        ],
        [
          backend.createNetwork({ name: `x${sfx}`, subnet: '198.51.100.128/25' }),
          'Pool overlaps with other one on this address space',
        ],
        [
          backend.connect(containers[0]!.name, `web${sfx}`),
          `endpoint with name ${containers[0]!.name} already exists in network web${sfx}`,
        ],
        [backend.removeNetwork(`web${sfx}`), /has active endpoints$/.source],
      ];
      for (const [promise, message] of table) {
        const err = await rejection(promise);
        expect(isBackendError(err)).toBe(true);
        if (message.endsWith('$')) expect(err.message).toMatch(new RegExp(message));
        else expect(err.message).toBe(message);
      }
      expect(await h.client.listBridges({})).toEqual(before);
    } finally {
      await h.close();
    }
  });

  it('the controller crashing and restarting mid-traffic: ping resumes without a host restart', async () => {
    const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
    const ipB = (await backend.listAttachments()).find((x) => x.containerId === b.id)!.ip;
    await controller.stop('SIGKILL');
    controller = await startControllerProcess(helper, helperDir());
    const ok = await pingEventually(a.ns, ipB, 15_000);
    expect(ok).toBe(true);
  });

  it('the host process restarting: state reopens, reconcile restores, ping resumes with the same IPs', async () => {
    const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
    const before = await backend.listAttachments();
    await backend.close();
    backend = await openBackend();
    const report = await backend.reconcile();
    expect(report.failures).toEqual([]);
    const after = await backend.listAttachments();
    expect(after.map((x) => [x.containerId, x.ip, x.mac, x.port])).toEqual(
      before.map((x) => [x.containerId, x.ip, x.mac, x.port]),
    );
    expect(await pingEventually(a.ns, after.find((x) => x.containerId === b.id)!.ip)).toBe(true);
  });

  it('disconnect and reconnect keep ports and devices consistent', async () => {
    const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
    await backend.createNetwork({ name: `db${sfx}`, subnet: '203.0.113.0/24' });
    for (let i = 0; i < 3; i++) {
      const att = await backend.connect(a.name, `db${sfx}`);
      expect(att.device).toBe('eth1');
      const all = await backend.listAttachments();
      const ports = all.map((x) => x.port);
      expect(new Set(ports).size).toBe(ports.length);
      expect((await a.ns.run(['ip', '-br', 'link', 'show', 'eth1'])).stdout).toContain('eth1');
      await backend.disconnect(a.name, `db${sfx}`);
      const gone = await a.ns.run(['ip', '-br', 'link', 'show', 'eth1']).catch(() => 'gone');
      expect(gone).toBe('gone');
    }
    const ipB = (await backend.listAttachments()).find((x) => x.containerId === b.id)!.ip;
    expect(await pingEventually(a.ns, ipB)).toBe(true);
    await backend.removeNetwork(`db${sfx}`);
  });

  it('a container VM restart restores its network with the same IP and MAC', async () => {
    const [a, b] = containers as [(typeof containers)[0], (typeof containers)[0]];
    const before = (await backend.listAttachments()).find((x) => x.containerId === b.id)!;
    await backend.containerStopped(b.name);
    await b.fwd.stop();
    b.fwd = await startForwarderProcess(b.ns, b.dir);
    await backend.containerStarted(b.name);
    const after = (await backend.listAttachments()).find((x) => x.containerId === b.id)!;
    expect([after.ip, after.mac, after.device, after.status]).toEqual([
      before.ip,
      before.mac,
      before.device,
      'ready',
    ]);
    expect(await pingEventually(a.ns, after.ip)).toBe(true);
  });
});
