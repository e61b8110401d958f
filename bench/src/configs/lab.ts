/**
 * The configurations measured on a real lab (`lab up` of @arca-net/lab): OVS + OVN in
 * a helper namespace, the lab host in the root namespace, one namespace and
 * forwarder per container.
 *
 * - `arca-net`: two lab containers on one network; frames go forwarder →
 *   host relay → helper relay → OVS and back (the real path). With
 *   `--host-relay ts|polling` the host relays are the TS reference relay or
 *   the old design's polling relay (`arca-net-ts`, `arca-net-polling`).
 * - `floor-ovs`: two namespaces attached to the same lab's `br-int` by veth as
 *   logical switch ports of the same network: OVS userspace switching with no
 *   relays, transmit checksums computed by the senders (no TSO).
 * - On a lab brought up with `--offload` (OVS with userspace TSO, attachments
 *   in offload mode): `arca-net-offload` (the real path, 64 KiB segments end
 *   to end) and `floor-ovs-tso` (the veth floor with checksum offload left on
 *   and userspace TSO: the real floor of any OVS backend here), and
 *   `arca-net-tso` (plain framing on that same OVS: what offload framing
 *   itself changes, with OVS's userspace TSO cost on both sides).
 *
 * Addresses come from the RFC 2544 benchmarking range (198.18.0.0/24); all
 * traffic stays between namespaces the benchmark created.
 */
import path from 'node:path';
import { lsName, raiseOvsPortBuffers } from '@arca-net/controller';
import type { OffloadPreference, RelayEngine } from '@arca-net/host';
import { runCommand } from '@arca-net/lab';
import { silentLogger } from '@arca-net/log';
import type { PathPair } from '../suites/path.js';
import { BenchLab } from '../tools/lab.js';

const SUBNET = '198.18.0';
const NETWORK = 'bench';

/** A lab for the path configurations, with its one network `bench` (198.18.0.0/24). */
export interface PathLab {
  lab: BenchLab;
  hostRelay: RelayEngine;
  networkId: string;
  /** Brought up with `--offload`: OVS with userspace TSO, attachments in offload mode. */
  offload: boolean;
}

/** Brings a lab up with `hostRelay` (cleaning whatever a previous run left) and creates `bench`. */
export async function upPathLab(
  hostRelay: RelayEngine,
  offload = false,
  labName?: string,
): Promise<PathLab> {
  const name = labName ?? (offload ? 'offload' : hostRelay);
  const lab = new BenchLab({
    dir: `/run/arca-net/bench-lab-${name}`,
    prefix: `anb${name.slice(0, 3)}`,
  });
  await lab.down().catch(() => undefined);
  await lab.up(hostRelay, offload);
  try {
    const network = await lab.createNetwork({ name: NETWORK, subnet: `${SUBNET}.0/24` });
    return { lab, hostRelay, networkId: network.Id, offload };
  } catch (error) {
    await lab.down();
    throw error;
  }
}

/** Two lab containers on `bench`: the real path, with the lab's host relay engine. */
export function setupLabPair(pathLab: PathLab): Promise<PathPair> {
  const { offload, hostRelay } = pathLab;
  const config = offload
    ? 'arca-net-offload'
    : hostRelay === 'native'
      ? 'arca-net'
      : `arca-net-${hostRelay}`;
  return labPair(pathLab, config);
}

/**
 * `arca-net-tso`: two lab containers on the offload lab with plain framing, so
 * OVS runs with userspace TSO as for `arca-net-offload` and only the framing differs.
 */
export function setupPlainPairOnOffloadLab(pathLab: PathLab): Promise<PathPair> {
  return labPair(pathLab, 'arca-net-tso', 'off');
}

async function labPair(
  { lab }: PathLab,
  config: string,
  offload?: OffloadPreference,
): Promise<PathPair> {
  const a = await lab.runContainer('bench-a', NETWORK, { ip: `${SUBNET}.10`, offload });
  const b = await lab.runContainer('bench-b', NETWORK, { ip: `${SUBNET}.11`, offload });
  return {
    config,
    a: { ns: a.namespace, ip: `${SUBNET}.10`, containerId: a.id },
    b: { ns: b.namespace, ip: `${SUBNET}.11`, containerId: b.id },
    gateway: `${SUBNET}.1`,
    processes: async () => ({
      'forwarders (both containers)': [a.pid, b.pid],
      ...(await lab.helperPids()),
    }),
    close: () => lab.removeContainers('bench-a', 'bench-b'),
  };
}

/**
 * Two namespaces on the lab's `br-int` by veth, each end bound to a logical
 * switch port of `bench` ("MAC IP" addresses and port security, as the
 * controller makes them): OVS and OVN without any relay.
 */
export async function setupFloorOvs({ lab, networkId, offload }: PathLab): Promise<PathPair> {
  const nbctl = (...args: string[]) =>
    runCommand(['ovn-nbctl', `--db=unix:${path.join(lab.helperRun, 'ovnnb_db.sock')}`, ...args]);
  const vsctl = (...args: string[]) =>
    runCommand(['ovs-vsctl', `--db=unix:${path.join(lab.helperRun, 'ovs.sock')}`, ...args]);
  const ls = lsName(networkId);
  const hosts = { a: 20, b: 21 } as const;
  const made: { ns: string; port: string }[] = [];
  const close = async (): Promise<void> => {
    for (const { ns, port } of made) {
      await vsctl('--if-exists', 'del-port', 'br-int', port).catch(() => undefined);
      await nbctl('--if-exists', 'lsp-del', port).catch(() => undefined);
      await runCommand(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
  };
  try {
    for (const [side, host] of Object.entries(hosts)) {
      const ns = `${lab.location.prefix}-fo-${side}`;
      const port = `${lab.location.prefix}fo${side}`;
      const mac = `02:00:c6:12:00:${host.toString(16).padStart(2, '0')}`;
      const ip = `${SUBNET}.${host}`;
      await runCommand(['ip', 'netns', 'del', ns]).catch(() => undefined);
      await runCommand(['ip', 'netns', 'add', ns]);
      made.push({ ns, port });
      await runCommand(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      // One veth end in the helper namespace (plugged into br-int), the other is eth0 in `ns`.
      await runCommand(['ip', 'link', 'add', port, 'type', 'veth', 'peer', 'name', `${port}p`]);
      await runCommand(['ip', 'link', 'set', port, 'netns', lab.helperNamespace]);
      await runCommand(['ip', 'link', 'set', `${port}p`, 'netns', ns]);
      await runCommand(['ip', '-n', ns, 'link', 'set', `${port}p`, 'name', 'eth0', 'address', mac]);
      await runCommand(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      await runCommand(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await runCommand(['ip', '-n', ns, 'route', 'add', 'default', 'via', `${SUBNET}.1`]);
      await runCommand(['ip', '-n', lab.helperNamespace, 'link', 'set', port, 'up']);
      // Without userspace TSO, OVS's userspace datapath reads veths through AF_PACKET
      // without the checksum metadata: compute checksums in the sender. With it
      // (floor-ovs-tso), checksum offload and TSO stay on.
      if (!offload) {
        await runCommand(['ip', 'netns', 'exec', ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
      }
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
    // The same OVS as the real path's: its port sockets get the buffers the controller gives
    // them after plugging a TAP (packages/controller/src/ovs/port-buffers.ts).
    await raiseOvsPortBuffers(lab.helperRun, silentLogger);
    await nbctl('--wait=hv', 'sync');
  } catch (error) {
    await close();
    throw error;
  }
  const ns = (side: 'a' | 'b') => `${lab.location.prefix}-fo-${side}`;
  return {
    config: offload ? 'floor-ovs-tso' : 'floor-ovs',
    a: { ns: ns('a'), ip: `${SUBNET}.${hosts.a}` },
    b: { ns: ns('b'), ip: `${SUBNET}.${hosts.b}` },
    gateway: `${SUBNET}.1`,
    processes: async () => {
      const { 'ovs-vswitchd': vswitchd = [] } = await lab.helperPids();
      return { 'ovs-vswitchd': vswitchd };
    },
    close,
  };
}
