/**
 * Drops are counted where they happen: a flood into a container's TAP whose
 * queue is made small (txqueuelen 8) loses frames in that queue, and
 * `lab stats` shows them there, at the container's TAP, not at a relay or
 * an OVS port. Every frame sent is either carried by the host relay or
 * counted as dropped at some place.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../packages/lab/dist/index.js';
import { LabHarness } from '../e2e/harness.js';
import { run } from './run.js';

const TOOL = fileURLToPath(new URL('./frames.py', import.meta.url));
const COUNT = 20_000;
const lab = new LabHarness('drops');

interface Counts {
  rxDropped: number;
  txDropped: number;
}
interface Attachment {
  ip: string;
  mac: string;
  relay?: { toHelper: { frames: number } };
  drops?: { relay: number; containerTap?: Counts; helperTap?: Counts; ovsPort?: Counts };
}
interface Container {
  name: string;
  namespace: string;
  attachments: Attachment[];
}

beforeAll(async () => {
  await lab.up({ drops: '10.78.0.0/24' }, { flooder: 'drops', sink: 'drops' });
}, 300_000);

afterAll(async () => {
  await lab.down();
});

describe('drops counted where they happen', () => {
  it('a flood into a small TAP queue shows its drops at the container TAP in lab stats', async () => {
    const ps = await lab.json<Container[]>('lab', 'ps');
    const flooder = ps.find((c) => c.name === 'flooder') as Container;
    const sink = ps.find((c) => c.name === 'sink') as Container;
    const [from, to] = [flooder.attachments[0] as Attachment, sink.attachments[0] as Attachment];
    await run([
      'ip',
      'netns',
      'exec',
      flooder.namespace,
      'ip',
      'link',
      'set',
      'eth0',
      'txqueuelen',
      '8',
    ]);
    const before = await lab.json<Container>('lab', 'stats', 'flooder');
    const start = before.attachments[0]?.relay?.toHelper.frames ?? 0;
    const out = await run([
      ...['ip', 'netns', 'exec', flooder.namespace, 'python3', TOOL, 'send', 'eth0'],
      ...[from.mac, to.mac, from.ip, to.ip, '0', String(COUNT), '1', '1500'],
    ]);
    expect((JSON.parse(out) as { sent: number }).sent).toBe(COUNT);

    // Frames still in flight reach the host relay: poll until every frame is accounted for.
    let view = before;
    const accounted = () => {
      const a = view.attachments[0] as Attachment;
      const carried = (a.relay?.toHelper.frames ?? 0) - start;
      const tap = a.drops?.containerTap;
      return carried + (a.drops?.relay ?? 0) + (tap ? tap.txDropped : 0);
    };
    const settled = await waitFor(
      async () => {
        view = await lab.json<Container>('lab', 'stats', 'flooder');
        return accounted() >= COUNT;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(settled, `accounted ${accounted()} of ${COUNT} frames`).toBe(true);
    const drops = view.attachments[0]?.drops;
    expect(drops?.containerTap?.txDropped).toBeGreaterThan(0);
    // The other places are read too (their counters exist), they just did not cause this loss.
    expect(drops?.helperTap).toBeDefined();
    expect(drops?.ovsPort).toBeDefined();

    const table = await lab.ok('lab', 'stats', 'flooder');
    const [header, row] = table.trim().split('\n');
    expect(header).toMatch(/DROPPED AT: RELAYS\s+CTR TAP\s+HELPER TAP\s+OVS PORT/);
    const cells = (row ?? '').trim().split(/\s{2,}/);
    const tap = drops?.containerTap;
    expect(Number(cells.at(-3))).toBeGreaterThanOrEqual(tap ? tap.txDropped + tap.rxDropped : 1);
  }, 180_000);
});
