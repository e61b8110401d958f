/**
 * Where an attachment's frames are dropped in the helper: the kernel
 * counters of its TAP (the relay writes into it, OVS reads it) and the OVS
 * interface's own statistics (the `statistics` column of its Interface row).
 */
import { type DeviceDrops, readDeviceDrops } from '@arca-net/vsock';
import { type OvsdbRow, strMap } from '../ovn/json.js';

/** The drop counters of one attachment in the helper; undefined where unreadable. */
export interface HelperDrops {
  helperTap: DeviceDrops | undefined;
  ovsPort: DeviceDrops | undefined;
  /**
   * Frames the packet sockets bound to the TAP dropped: OVS's netdev
   * datapath reads a system port through one, and a full socket buffer drops
   * what the relay wrote into the TAP without any device counter seeing it.
   */
  ovsCapture: number | undefined;
}

/**
 * Per interface, the drops (`skmem:(…,d<N>)`) of the packet sockets bound to
 * it, summed, from `ss -0 -e -m` (a socket line with `*:<iface>`, then its
 * detail line). Sockets bound to no interface are skipped.
 */
export function parsePacketSocketDrops(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let iface: string | undefined;
  for (const line of text.split('\n')) {
    const socket = /^p_(?:raw|dgr)\s+\d+\s+\d+\s+\S*:(\S+)/.exec(line);
    if (socket) {
      iface = socket[1] === '*' ? undefined : socket[1];
      continue;
    }
    const drops = /skmem:\([^)]*\bd(\d+)\)/.exec(line);
    if (drops && iface !== undefined) {
      out.set(iface, (out.get(iface) ?? 0) + Number(drops[1]));
      iface = undefined;
    }
  }
  return out;
}

/**
 * The rx_dropped / tx_dropped of an Interface row's `statistics` column;
 * undefined when OVS reports neither (a port it has not opened yet).
 */
export function interfaceDrops(row: OvsdbRow): DeviceDrops | undefined {
  const stats = strMap(row, 'statistics');
  const rx = stats.get('rx_dropped');
  const tx = stats.get('tx_dropped');
  if (rx === undefined && tx === undefined) return undefined;
  return { rxDropped: Number(rx ?? 0), txDropped: Number(tx ?? 0) };
}

/**
 * `read`, shared by the calls that overlap it: a call while a read runs gets
 * that read's result, a later call starts a new one. A stats request asks
 * for all of a container's attachments at once, so its `ss` and its
 * `ovs-vsctl list Interface` run once each.
 */
export function sharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= read().finally(() => {
      running = undefined;
    });
    return running;
  };
}

/** What the driver reads for {@link readHelperDrops}. */
export interface DropReaders {
  interfaceDrops?(name: string): Promise<DeviceDrops | undefined>;
  packetSocketDrops?(): Promise<Map<string, number>>;
}

/** Reads every place for the TAP / OVS port `portName`. */
export async function readHelperDrops(
  portName: string,
  readers: DropReaders,
): Promise<HelperDrops> {
  const [helperTap, ovsPort, capture] = await Promise.all([
    readDeviceDrops(portName).catch(() => undefined),
    readers.interfaceDrops?.(portName).catch(() => undefined),
    readers.packetSocketDrops?.().catch(() => undefined),
  ]);
  return { helperTap, ovsPort, ovsCapture: capture && (capture.get(portName) ?? 0) };
}
