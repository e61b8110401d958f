/**
 * The whole helper, as the VM runs it: helpervm/startup.sh starts OVS/OVN and
 * runs the controller under its supervisor (unixdir listen address) in a
 * namespace of its own.
 * Containers are namespaces with a TAP relayed to the helper relay port, as
 * the host and the forwarder do it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectController, lspName } from '../../packages/controller/dist/index.js';
import {
  dhcpLease,
  inNamespace,
  NetworkNamespace,
  uniqueSuffix,
} from '../../packages/lab/dist/index.js';
import { HelperOvn, reaches, repoRoot, startupScript } from './harness.js';

const sfx = uniqueSuffix();
let helper: HelperOvn;
let grpcDir: string;
let controllerProc: ChildProcess | undefined;
let conn: ReturnType<typeof connectController>;
const namespaces: NetworkNamespace[] = [];
const sides = new Set<ChildProcess>();

/** Starts `startup.sh run` (OVS/OVN already up, so it only supervises the controller) and waits until it answers. */
async function startHelperController(): Promise<void> {
  const [ip, ...args] = inNamespace(helper.ns.name, [startupScript, 'run']);
  controllerProc = spawn(ip ?? 'ip', args, {
    env: {
      ...process.env,
      ...helper.env,
      ARCA_CONTROLLER_LISTEN: `unixdir:${grpcDir}`,
      ARCA_NET_LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  controllerProc.stderr?.on('data', (c: Buffer) => {
    supervisorLog += c.toString();
  });
  await controllerAnswers(() => true);
}

let supervisorLog = '';

/** The pid in startup.sh's controller.pid (undefined while there is none). */
function controllerPid(): number | undefined {
  try {
    const pid = Number(readFileSync(join(helper.runDir, 'controller.pid'), 'utf8'));
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Waits (bounded) until `ready()` holds and a fresh client gets the controller's health. */
async function controllerAnswers(ready: () => boolean): Promise<void> {
  conn?.close();
  conn = connectController(join(grpcDir, '9999.sock'));
  for (let i = 0; i < 300; i++) {
    if (controllerProc?.exitCode !== null) {
      throw new Error(`startup.sh run exited: ${supervisorLog}`);
    }
    const ok =
      ready() &&
      (await conn.client.getHealth({}).then(
        () => true,
        () => false,
      ));
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`controller did not answer: ${supervisorLog}`);
}

/** Kills the controller (not startup.sh) and waits for the one its supervisor starts instead. */
async function killController(signal: NodeJS.Signals): Promise<void> {
  const old = controllerPid();
  if (old === undefined) throw new Error('no controller.pid');
  process.kill(old, signal);
  await controllerAnswers(() => {
    const now = controllerPid();
    return now !== undefined && now !== old;
  });
}

/** Stops `startup.sh run`: the supervisor stops its controller and exits. */
async function stopHelperController(): Promise<void> {
  conn?.close();
  const proc = controllerProc;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

/** Runs the container side in `ns`: TAP `eth0` with `mac`, relayed to helper port `port`. */
async function containerSide(
  ns: NetworkNamespace,
  port: number,
  mac: string,
): Promise<ChildProcess> {
  const [ip, ...args] = inNamespace(ns.name, [
    ...[process.execPath, join(repoRoot, 'test/controller/container-side.mjs')],
    ...[grpcDir, String(port), mac, 'eth0'],
  ]);
  const proc = spawn(ip ?? 'ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  sides.add(proc);
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`container side exited ${code}: ${err}`)));
  });
  return proc;
}

async function stopSide(proc: ChildProcess): Promise<void> {
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  }
  sides.delete(proc);
}

async function container(name: string): Promise<NetworkNamespace> {
  const ns = await NetworkNamespace.create(`anc${sfx}${name}`);
  namespaces.push(ns);
  return ns;
}

beforeAll(async () => {
  helper = await HelperOvn.start(`anc${sfx}r`);
  grpcDir = mkdtempSync(join(tmpdir(), `anc${sfx}-vm-`));
  await startHelperController();
});

afterAll(async () => {
  for (const proc of sides) await stopSide(proc);
  await stopHelperController().catch(() => undefined);
  for (const ns of namespaces) await ns.delete();
  await helper?.stop();
  if (grpcDir) rmSync(grpcDir, { recursive: true, force: true });
});

describe('helper relays', () => {
  let c1: NetworkNamespace;
  let c2: NetworkNamespace;
  let side1: ChildProcess;
  let side2: ChildProcess;
  let ip1: string;
  let ip2: string;
  const mac1 = '02:00:00:00:d0:01';
  const mac2 = '02:00:00:00:d0:02';

  it('AttachContainer returns once the relay listens on vsock_port + 10000, with a TAP on br-int bound to the port', async () => {
    await conn.client.createBridge({
      networkId: 'net-r',
      subnet: '198.51.100.0/24',
      name: 'relay',
    });
    const res = await conn.client.attachContainer({
      containerId: 'c1',
      networkId: 'net-r',
      macAddress: mac1,
      hostname: 'one',
      vsockPort: 21001,
    });
    ip1 = res.ipAddress;
    expect(existsSync(join(grpcDir, '31001.sock'))).toBe(true);
    const port = lspName('c1', 'net-r');
    expect((await helper.vsctl('get', 'Interface', port, 'external_ids:iface-id')).trim()).toBe(
      port,
    );
    expect(
      (
        await helper.sbctl('--bare', '--columns=up', 'find', 'Port_Binding', `logical_port=${port}`)
      ).trim(),
    ).toBe('true');
  });

  it('a DHCP client in the container obtains exactly the returned IP through the relays', async () => {
    c1 = await container('c1');
    side1 = await containerSide(c1, 31001, mac1);
    expect(await dhcpLease(c1.name, 'eth0')).toMatchObject({ ip: ip1 });
  });

  it('two containers ping each other, and the relay counts the frames', async () => {
    const res = await conn.client.attachContainer({
      containerId: 'c2',
      networkId: 'net-r',
      macAddress: mac2,
      hostname: 'two',
      vsockPort: 21002,
    });
    ip2 = res.ipAddress;
    c2 = await container('c2');
    side2 = await containerSide(c2, 31002, mac2);
    await c1.run(['ip', 'addr', 'add', `${ip1}/24`, 'dev', 'eth0']);
    await c2.run(['ip', 'addr', 'add', `${ip2}/24`, 'dev', 'eth0']);
    expect(await reaches(c1, ip2)).toBe(true);
    const stats = await conn.client.getAttachmentStats({ containerId: 'c1', networkId: 'net-r' });
    expect(stats.connected).toBe(true);
    expect(stats.connections).toBe(1);
    expect(stats.toSwitch?.frames).toBeGreaterThan(0n);
    expect(stats.toContainer?.frames).toBeGreaterThan(0n);
  });

  it('a reconnecting host replaces the relay; the listener stays up', async () => {
    await stopSide(side2);
    side2 = await containerSide(c2, 31002, mac2);
    await c2.run(['ip', 'addr', 'add', `${ip2}/24`, 'dev', 'eth0']);
    expect(await reaches(c1, ip2)).toBe(true);
    const stats = await conn.client.getAttachmentStats({ containerId: 'c2', networkId: 'net-r' });
    expect(stats.connections).toBe(2);
  });

  /** Restarts both container sides (as the host re-dials after the helper came back). */
  async function redialBothSides(): Promise<void> {
    for (const [ns, port, mac, ip] of [
      [c1, 31001, mac1, ip1],
      [c2, 31002, mac2, ip2],
    ] as const) {
      await stopSide(ns === c1 ? side1 : side2);
      const side = await containerSide(ns, port, mac);
      if (ns === c1) side1 = side;
      else side2 = side;
      await ns.run(['ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    }
  }

  const restarts = () => readFileSync(join(helper.runDir, 'controller.restarts'), 'utf8').trim();

  it('a controller that exits is restarted by the supervisor and reopens the relays of existing attachments', async () => {
    await killController('SIGTERM');
    expect(restarts()).toBe('1');
    const { bridges } = await conn.client.listBridges({});
    expect(bridges[0]?.containers).toEqual(['c1', 'c2']);
    await redialBothSides();
    expect(await reaches(c1, ip2)).toBe(true);
  });

  it('a controller killed with SIGKILL comes back with new TAPs that OVS switches', async () => {
    // The TAPs die with the process while their OVS port rows stay behind.
    await killController('SIGKILL');
    expect(restarts()).toBe('2');
    await redialBothSides();
    expect(await reaches(c1, ip2)).toBe(true);
  });

  it('DetachContainer closes relay and listener and removes the TAP port; re-attach works at once', async () => {
    await conn.client.detachContainer({ containerId: 'c2', networkId: 'net-r' });
    expect(existsSync(join(grpcDir, '31002.sock'))).toBe(false);
    expect(await helper.vsctl('list-ports', 'br-int')).not.toContain(lspName('c2', 'net-r'));
    expect(await reaches(c1, ip2, 1)).toBe(false);
    const res = await conn.client.attachContainer({
      containerId: 'c2',
      networkId: 'net-r',
      macAddress: mac2,
      vsockPort: 21002,
    });
    expect(res.ipAddress).toBe(ip2);
    await conn.client.detachContainer({ containerId: 'c2', networkId: 'net-r' });
    await conn.client.detachContainer({ containerId: 'c1', networkId: 'net-r' });
    await conn.client.deleteBridge({ networkId: 'net-r' });
    expect((await helper.nbctl('show')).trim()).toBe('');
    expect((await helper.vsctl('list-ports', 'br-int')).trim()).toBe('');
  });
});
