/**
 * The configurations measured on a real lab (`arca-net lab up`): OVS + OVN in
 * a helper namespace, the lab host in the root namespace, one namespace and
 * forwarder per container.
 *
 * - `arca-net`: two lab containers on one network; frames go forwarder →
 *   host relay → helper relay → OVS and back (the real path). With
 *   `--host-relay ts|polling` the host relays are the TS reference relay or
 *   the old design's polling relay (`arca-net-ts`, `arca-net-polling`).
 * - `floor-ovs`: two namespaces attached to the same lab's `br-int` by veth as
 *   logical switch ports of the same network: OVS userspace switching with no
 *   relays, the floor for any OVS backend on this machine.
 *
 * Addresses come from the RFC 2544 benchmarking range (198.18.0.0/24); all
 * traffic stays between namespaces the benchmark created.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lsName } from '@arca-net/controller';
import { run } from '../exec.js';
import type { PathPair } from '../suites/path.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(repoRoot, 'packages', 'cli', 'dist', 'main.js');

const SUBNET = '198.18.0';
const NETWORK = 'bench';

/** The host relay engines a lab can run with. */
export type HostRelay = 'native' | 'ts' | 'polling';

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A lab of the benchmark's own (its directory and namespace prefix), torn down by `down()`. */
export class BenchLab {
  readonly dir: string;
  readonly prefix: string;
  /** The id of the network `bench` (198.18.0.0/24). */
  networkId = '';

  private constructor(readonly hostRelay: HostRelay) {
    this.dir = `/run/arca-net/bench-lab-${hostRelay}`;
    this.prefix = `anb${hostRelay.slice(0, 3)}`;
  }

  /** `arca-net ARGS…` against this lab (ARGS without a `--` separator); resolves with stdout. */
  cli(args: string[], timeoutMs = 180_000): Promise<string> {
    return run(
      [process.execPath, CLI, ...args, '--lab-dir', this.dir, '--prefix', this.prefix],
      timeoutMs,
    ).then((r) => r.stdout);
  }

  /** Brings a lab up (cleaning whatever a previous run left) with one network, `bench`. */
  static async up(hostRelay: HostRelay): Promise<BenchLab> {
    const lab = new BenchLab(hostRelay);
    await lab.cli(['lab', 'down', '--quiet']).catch(() => undefined);
    await lab.cli(['lab', 'up', '--quiet', '--host-relay', hostRelay]);
    try {
      const id = await lab.cli(['network', 'create', '--subnet', `${SUBNET}.0/24`, NETWORK]);
      lab.networkId = id.trim();
    } catch (error) {
      await lab.down();
      throw error;
    }
    return lab;
  }

  get helperNamespace(): string {
    return `${this.prefix}-helper`;
  }

  get helperRun(): string {
    return path.join(this.dir, 'helper', 'run');
  }

  async down(): Promise<void> {
    await this.cli(['lab', 'down', '--quiet']);
  }

  /** pids of the processes on the path that are not a container's forwarder. */
  helperPids(): Record<string, number[]> {
    const pick = (name: string, file: string): [string, number[]] => {
      const pid = readPid(file);
      return [name, pid === undefined ? [] : [pid]];
    };
    return Object.fromEntries([
      pick('lab host (host relays)', path.join(this.dir, 'host.pid')),
      pick('controller (helper relays)', path.join(this.helperRun, 'controller.pid')),
      pick('ovs-vswitchd', path.join(this.helperRun, 'ovs-vswitchd.pid')),
    ]);
  }
}

interface PsRow {
  name: string;
  namespace: string;
  pid: number;
}

/** Two lab containers on `bench`: the real path, with the lab's host relay engine. */
export async function setupLabPair(lab: BenchLab): Promise<PathPair> {
  const hosts = { a: 10, b: 11 } as const;
  for (const [name, host] of Object.entries(hosts)) {
    await lab.cli([
      'lab',
      'run',
      '--network',
      NETWORK,
      '--ip',
      `${SUBNET}.${host}`,
      `bench-${name}`,
    ]);
  }
  const ps = JSON.parse(await lab.cli(['lab', 'ps', '--json'])) as PsRow[];
  const row = (name: string): PsRow => {
    const found = ps.find((c) => c.name === name);
    if (!found) throw new Error(`lab ps does not list ${name}`);
    return found;
  };
  const a = row('bench-a');
  const b = row('bench-b');
  return {
    config: lab.hostRelay === 'native' ? 'arca-net' : `arca-net-${lab.hostRelay}`,
    a: { ns: a.namespace, ip: `${SUBNET}.${hosts.a}` },
    b: { ns: b.namespace, ip: `${SUBNET}.${hosts.b}` },
    gateway: `${SUBNET}.1`,
    processes: () => ({
      'forwarders (both containers)': [a.pid, b.pid],
      ...lab.helperPids(),
    }),
    close: async () => {
      await lab.cli(['lab', 'rm', 'bench-a', 'bench-b']);
    },
  };
}

/**
 * Two namespaces on the lab's `br-int` by veth, each end bound to a logical
 * switch port of `bench` ("MAC IP" addresses and port security, as the
 * controller makes them): OVS and OVN without any relay.
 */
export async function setupFloorOvs(lab: BenchLab): Promise<PathPair> {
  const nbctl = (...args: string[]) =>
    run(['ovn-nbctl', `--db=unix:${path.join(lab.helperRun, 'ovnnb_db.sock')}`, ...args]);
  const vsctl = (...args: string[]) =>
    run(['ovs-vsctl', `--db=unix:${path.join(lab.helperRun, 'ovs.sock')}`, ...args]);
  const ls = lsName(lab.networkId);
  const hosts = { a: 20, b: 21 } as const;
  const made: { ns: string; port: string }[] = [];
  const close = async (): Promise<void> => {
    for (const { ns, port } of made) {
      await vsctl('--if-exists', 'del-port', 'br-int', port).catch(() => undefined);
      await nbctl('--if-exists', 'lsp-del', port).catch(() => undefined);
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
  };
  try {
    for (const [side, host] of Object.entries(hosts)) {
      const ns = `${lab.prefix}-fo-${side}`;
      const port = `${lab.prefix}fo${side}`;
      const mac = `02:00:c6:12:00:${host.toString(16).padStart(2, '0')}`;
      const ip = `${SUBNET}.${host}`;
      await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
      await run(['ip', 'netns', 'add', ns]);
      made.push({ ns, port });
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // One veth end in the helper namespace (plugged into br-int), the other is eth0 in `ns`.
      await run(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', `${port}p`]);
      await run(['ip', 'link', 'set', port, 'netns', lab.helperNamespace]);
      await run(['ip', 'link', 'set', `${port}p`, 'netns', ns]);
      await run(['ip', '-n', ns, 'link', 'set', `${port}p`, 'name', 'eth0', 'address', mac]);
      await run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await run(['ip', '-n', ns, 'route', 'add', 'default', 'via', `${SUBNET}.1`]);
      await run(['ip', '-n', lab.helperNamespace, 'link', 'set', port, 'up']);
      // OVS's userspace datapath reads veths through AF_PACKET, which does not
      // complete checksums that the kernel left to the NIC: compute them in the sender.
      await run(['ip', 'netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
      await nbctl(
        '--',
        'lsp-add',
        ls,
        port,
        '--',
        'lsp-set-addresses',
        port,
        `${mac} ${ip}`,
        '--',
        'lsp-set-port-security',
        port,
        `${mac} ${ip}`,
      );
      await vsctl(
        '--',
        'add-port',
        'br-int',
        port,
        '--',
        'set',
        'Interface',
        port,
        `external_ids:iface-id=${port}`,
      );
    }
    await nbctl('--wait=hv', 'sync');
  } catch (error) {
    await close();
    throw error;
  }
  const ns = (side: 'a' | 'b') => `${lab.prefix}-fo-${side}`;
  return {
    config: 'floor-ovs',
    a: { ns: ns('a'), ip: `${SUBNET}.${hosts.a}` },
    b: { ns: ns('b'), ip: `${SUBNET}.${hosts.b}` },
    gateway: `${SUBNET}.1`,
    processes: () => {
      const { 'ovs-vswitchd': vswitchd = [] } = lab.helperPids();
      return { 'ovs-vswitchd': vswitchd };
    },
    close,
  };
}
