/**
 * Sums the drops `lab stats --json` reports by place over some containers:
 * relays, the containers' TAP queues, the helper's TAPs and the OVS ports.
 */
import { type AttachmentDrops, ovsPortDropTotal } from '../../packages/host/dist/index.js';
import type { LabHarness } from '../e2e/harness.js';

interface StatsView {
  attachments: Array<{ drops?: AttachmentDrops }>;
}

/** Frames dropped at each place, summed over `containers`' attachments. */
export interface DropPlaces {
  relay: number;
  containerTap: number;
  helperTap: number;
  ovsPort: number;
}

const total = (c: AttachmentDrops['containerTap']) => (c ? c.rxDropped + c.txDropped : 0);

/** `lab stats NAME --json` of each container, summed by place. */
export async function dropPlaces(lab: LabHarness, containers: string[]): Promise<DropPlaces> {
  const sum: DropPlaces = { relay: 0, containerTap: 0, helperTap: 0, ovsPort: 0 };
  for (const name of containers) {
    const view = await lab.json<StatsView>('lab', 'stats', name);
    for (const a of view.attachments) {
      if (!a.drops) throw new Error(`lab stats ${name}: an attachment without drop counters`);
      sum.relay += a.drops.relay;
      sum.containerTap += total(a.drops.containerTap);
      sum.helperTap += total(a.drops.helperTap);
      sum.ovsPort += ovsPortDropTotal(a.drops);
    }
  }
  return sum;
}
