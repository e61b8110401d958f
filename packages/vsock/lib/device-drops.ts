/**
 * A network device's kernel drop counters, read from `/proc/net/dev`. That
 * file belongs to the reading process's network namespace (it is
 * `/proc/self/net/dev`), unlike `/sys/class/net`, which shows the namespace
 * that mounted sysfs; so the forwarder and the controller each read their
 * own TAPs there, with no tool to spawn.
 */
import { readFile } from 'node:fs/promises';

/** Drop counters of one device, from its own point of view (rx = frames it received). */
export interface DeviceDrops {
  /** Frames the device received and the kernel dropped (a TAP: written by its reader, e.g. a full backlog). */
  rxDropped: number;
  /** Frames sent through the device and dropped (a TAP: its queue towards the reader was full). */
  txDropped: number;
}

/**
 * Every device's drop counters in a `/proc/net/dev` text: receive drop is
 * the 4th number after the name, transmit drop the 12th. Lines that do not
 * parse are skipped.
 */
export function parseProcNetDev(text: string): Map<string, DeviceDrops> {
  const out = new Map<string, DeviceDrops>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (name === '' || name.includes('|') || fields.length < 16) continue;
    const rx = Number(fields[3]);
    const tx = Number(fields[11]);
    if (!Number.isSafeInteger(rx) || !Number.isSafeInteger(tx)) continue;
    out.set(name, { rxDropped: rx, txDropped: tx });
  }
  return out;
}

/** The drop counters of `name` in this process's network namespace; undefined when there is no such device. */
export async function readDeviceDrops(
  name: string,
  file = '/proc/net/dev',
): Promise<DeviceDrops | undefined> {
  return parseProcNetDev(await readFile(file, 'utf8')).get(name);
}
