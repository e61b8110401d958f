/**
 * Where an attachment's frames were dropped, place by place: the relays (the
 * host's, the forwarder's and the helper's), the container's TAP queue, the
 * helper's TAP and the OVS port. The counters come from the host bridge, the
 * forwarder's ListNetworks and the helper's GetAttachmentStats; a place that
 * does not answer in time is listed as unreadable, not counted as zero.
 */
import type { tapforwarder } from '@arca-net/proto';
import type { AttachmentParts } from './attach.js';
import { linkKey } from './attach.js';
import type { AttachmentRecord, ContainerRecord } from './state.js';

/** A device's kernel drop counters, from its own point of view. */
export interface DeviceDropCounts {
  rxDropped: number;
  txDropped: number;
}

/** One attachment's drops by place. */
export interface AttachmentDrops {
  /** Frames the relays dropped (host relay, plus the forwarder's and helper's relay errors). */
  relay: number;
  /** The container's TAP (tx: its queue towards the forwarder overflowed). */
  containerTap?: DeviceDropCounts;
  /** The helper's TAP (rx: the relay wrote frames the kernel dropped). */
  helperTap?: DeviceDropCounts;
  /** The OVS interface of the attachment on br-int (its `statistics`). */
  ovsPort?: DeviceDropCounts;
  /**
   * Frames OVS's capture of the helper TAP dropped (its packet socket's
   * buffer was full): the OVS port's loss that no device counter sees.
   */
  ovsCapture?: number;
  /** Places whose counters could not be read now ('forwarder', 'helper'). */
  unreadable: string[];
}

/** How long a place may take to answer (a stats call must not hang `lab stats`). */
const PLACE_TIMEOUT_MS = 2000;

const counts = (
  d: { rxDropped: bigint; txDropped: bigint } | undefined,
): DeviceDropCounts | undefined =>
  d && { rxDropped: Number(d.rxDropped), txDropped: Number(d.txDropped) };

/** The sum of a device's two counters (0 when unknown). */
export const deviceDropTotal = (d: DeviceDropCounts | undefined): number =>
  d ? d.rxDropped + d.txDropped : 0;

/**
 * What OVS itself lost at the attachment's port: its capture's drops, plus
 * what its interface counters add to the TAP's. For a system port of the
 * netdev datapath those counters are the TAP's kernel counters plus OVS's
 * own (equal to the helper TAP's in `make soak`), so they are not summed twice.
 */
export const ovsPortDropTotal = (d: AttachmentDrops): number =>
  Math.max(0, deviceDropTotal(d.ovsPort) - deviceDropTotal(d.helperTap)) + (d.ovsCapture ?? 0);

/** Reads every place of each attachment of `c` that has a relay now; keyed by network id. */
export async function readAttachmentDrops(
  p: AttachmentParts,
  c: ContainerRecord,
): Promise<Map<string, AttachmentDrops>> {
  const out = new Map<string, AttachmentDrops>();
  const live = p.state.attachmentsOfContainer(c.id).filter((a) => a.port !== null);
  if (live.length === 0) return out;
  const devices = await p.forwarders
    .listNetworks(c, AbortSignal.timeout(PLACE_TIMEOUT_MS))
    .catch(() => undefined);
  await Promise.all(live.map(async (a) => out.set(a.networkId, await placesOf(p, a, devices))));
  return out;
}

async function placesOf(
  p: AttachmentParts,
  a: AttachmentRecord,
  devices: tapforwarder.NetworkInfo[] | undefined,
): Promise<AttachmentDrops> {
  const unreadable: string[] = [];
  const host = p.bridge.counters(linkKey(a.containerId, a.networkId));
  let relay = host ? host.toHelper.drops + host.toContainer.drops : 0;
  const device = devices?.find((d) => d.device === a.device);
  if (!device) unreadable.push('forwarder');
  else if (device.stats) {
    relay += Number(device.stats.sendErrors + device.stats.receiveErrors);
  }
  const helper = await p.helper
    .attachmentStats(a.containerId, a.networkId, AbortSignal.timeout(PLACE_TIMEOUT_MS))
    .catch(() => undefined);
  if (!helper) unreadable.push('helper');
  else relay += Number((helper.toSwitch?.drops ?? 0n) + (helper.toContainer?.drops ?? 0n));
  const containerTap = counts(device?.tapDrops);
  const helperTap = counts(helper?.helperTap);
  const ovsPort = counts(helper?.ovsPort);
  return {
    relay,
    ...(helper ? { ovsCapture: Number(helper.ovsCaptureDropped) } : {}),
    ...(containerTap ? { containerTap } : {}),
    ...(helperTap ? { helperTap } : {}),
    ...(ovsPort ? { ovsPort } : {}),
    unreadable,
  };
}
