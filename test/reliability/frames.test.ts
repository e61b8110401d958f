/**
 * Frame integrity under load: pairs of lab containers, in each pair one
 * writes sequence-numbered, CRC-checked frames of random sizes into its
 * interface as fast as it can (test/reliability/frames.py, raw packet
 * socket) and the other verifies them. Every pair runs at once. Drops under
 * overload are allowed and counted; corrupted, reordered or duplicated frames
 * are not. `ARCA_NET_FRAME_PAIRS` (default 2) and `ARCA_NET_FRAME_COUNT`
 * (default 20000 per pair) size it; `make soak` runs 16 pairs. With
 * `ARCA_NET_RELIABILITY_OUT=FILE` the totals are merged into FILE (JSON),
 * with `droppedAt`: the drops by place, summed from `lab stats` (relays,
 * container TAPs, helper TAPs, OVS ports), the receivers' own sockets, and
 * what no counter explains.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LabHarness } from '../e2e/harness.js';
import { dropPlaces } from './drop-places.js';
import { mergeReliabilityReport } from './report-out.js';
import { run } from './run.js';

const TOOL = fileURLToPath(new URL('./frames.py', import.meta.url));
const PAIRS = Number(process.env.ARCA_NET_FRAME_PAIRS ?? 2);
const COUNT = Number(process.env.ARCA_NET_FRAME_COUNT ?? 20_000);
const lab = new LabHarness('frames');

interface Container {
  name: string;
  namespace: string;
  attachments: Array<{ ip: string; mac: string }>;
}
interface StreamStats {
  received: number;
  corrupted: number;
  reordered: number;
  duplicated: number;
}

beforeAll(async () => {
  const up = await lab.cli('lab', 'up');
  expect(up.code, up.stderr).toBe(0);
  await lab.ok('network', 'create', 'frames', '--subnet', '10.79.0.0/24');
  for (let i = 0; i < PAIRS; i++) {
    await lab.ok('lab', 'run', `tx${i}`, '--network', 'frames');
    await lab.ok('lab', 'run', `rx${i}`, '--network', 'frames');
  }
}, 600_000);

afterAll(async () => {
  await lab.down();
});

describe('frame integrity under load', () => {
  it(
    `${PAIRS} pairs at full speed at once: no frame corrupted, reordered or duplicated`,
    async () => {
      const ps = await lab.json<Container[]>('lab', 'ps');
      const byName = new Map(ps.map((c) => [c.name, c]));
      const receivers: Promise<string>[] = [];
      const ready: Promise<void>[] = [];
      for (let i = 0; i < PAIRS; i++) {
        const rx = byName.get(`rx${i}`) as Container;
        let signal = () => {};
        ready.push(new Promise((resolve) => (signal = resolve)));
        receivers.push(
          run(
            ['ip', 'netns', 'exec', rx.namespace, 'python3', TOOL, 'recv', 'eth0', '3', `${i}`],
            (line) => {
              if (line === 'ready') signal();
            },
          ),
        );
      }
      await Promise.all(ready);
      const senders = Array.from({ length: PAIRS }, (_, i) => {
        const tx = byName.get(`tx${i}`) as Container;
        const rx = byName.get(`rx${i}`) as Container;
        const [from, to] = [tx.attachments[0], rx.attachments[0]];
        return run([
          ...['ip', 'netns', 'exec', tx.namespace, 'python3', TOOL, 'send', 'eth0'],
          ...[from?.mac ?? '', to?.mac ?? '', from?.ip ?? '', to?.ip ?? ''],
          ...[`${i}`, `${COUNT}`, `${i + 1}`, '1500'],
        ]);
      });
      const sent = (await Promise.all(senders)).map(
        (out) => (JSON.parse(out) as { sent: number }).sent,
      );
      let receiverSocket = 0;
      const results = (await Promise.all(receivers)).map((out, i) => {
        const last = out.trim().split('\n').pop() ?? '{}';
        const parsed = JSON.parse(last) as Record<string, StreamStats> & { socketDrops?: number };
        receiverSocket += parsed.socketDrops ?? 0;
        return parsed[`${i}`] as StreamStats;
      });
      const total = {
        sent: sent.reduce((a, b) => a + b, 0),
        received: results.reduce((a, r) => a + r.received, 0),
        corrupted: results.reduce((a, r) => a + r.corrupted, 0),
        reordered: results.reduce((a, r) => a + r.reordered, 0),
        duplicated: results.reduce((a, r) => a + r.duplicated, 0),
        dropped: 0,
      };
      total.dropped = total.sent - total.received;
      // Where they were dropped: the counters of every place on both sides of each pair.
      const names = Array.from({ length: PAIRS }, (_, i) => [`tx${i}`, `rx${i}`]).flat();
      const places = await dropPlaces(lab, names);
      const counted =
        places.relay + places.containerTap + places.helperTap + places.ovsPort + receiverSocket;
      const droppedAt = {
        ...places,
        receiverSocket,
        unattributed: Math.max(0, total.dropped - counted),
      };
      process.stdout.write(`frames dropped at: ${JSON.stringify(droppedAt)}\n`);
      process.stdout.write(`frames (${PAIRS} pairs): ${JSON.stringify(total)}\n`);
      await mergeReliabilityReport((report) => ({ ...report, frames: { ...total, droppedAt } }));
      for (const r of results) expect(r.received).toBeGreaterThan(0);
      expect(total.corrupted).toBe(0);
      expect(total.reordered).toBe(0);
      expect(total.duplicated).toBe(0);
      // A bound, not a speed assertion: a 2-core machine moves well over 2,000 frames a second.
    },
    120_000 + (PAIRS * COUNT) / 2,
  );
});
