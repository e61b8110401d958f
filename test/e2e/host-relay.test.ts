/**
 * `lab up --host-relay ts|polling`: the lab host relays with a reference
 * engine instead of the native one (what `make bench` compares), and the
 * whole path still carries traffic between two containers. (198.51.100.0/24
 * is the lab's outside network, so the containers here use 192.0.2.0/24.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LabHarness, pingReplies } from './harness.js';

let lab: LabHarness | undefined;

afterEach(async () => {
  await lab?.down();
  lab = undefined;
});

interface StatsRow {
  network: string;
  fromContainer: { frames: number };
  toContainer: { frames: number };
}

describe('lab up --host-relay', () => {
  for (const engine of ['ts', 'polling'] as const) {
    it(`${engine}: lab status names the engine and two containers ping each other through it`, async () => {
      lab = new LabHarness(`relay-${engine}`);
      await lab.ok('lab', 'up', '--host-relay', engine, '--quiet');
      const status = await lab.cli('lab', 'status');
      expect(status.stdout).toContain(`${engine} relays`);
      await lab.ok('network', 'create', '--subnet', '192.0.2.0/24', 'net');
      await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.10', 'a');
      await lab.ok('lab', 'run', '--network', 'net', '--ip', '192.0.2.11', 'b');
      const ping = await lab.exec('a', 'ping', '-c', '5', '-i', '0.2', '-W', '2', '192.0.2.11');
      expect(pingReplies(ping.stdout)).toBe(5);
      const stats = await lab.json<{ networks: StatsRow[] }>('lab', 'stats', 'a');
      expect(stats.networks[0]?.fromContainer.frames).toBeGreaterThanOrEqual(5);
      expect(stats.networks[0]?.toContainer.frames).toBeGreaterThanOrEqual(5);
    });
  }
});
