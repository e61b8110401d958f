/** Twenty containers connected in parallel get unique addresses and data ports, and talk. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabContainer } from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('scale');
const COUNT = 20;

beforeAll(async () => {
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  await lab.ok('network', 'create', '--subnet', '10.78.0.0/24', 'many');
});

afterAll(async () => {
  await lab.down();
});

describe('parallel connect', () => {
  it(`connects ${COUNT} containers at once with unique IPs and ports`, async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `c${i}`);
    const results = await Promise.all(
      names.map((name) => lab.cli('lab', 'run', '--network', 'many', name)),
    );
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    const containers = await lab.json<LabContainer[]>('lab', 'ps');
    expect(containers).toHaveLength(COUNT);
    const ips = containers.map((c) => c.attachments[0]?.ip);
    const ports = containers.map((c) => c.attachments[0]?.port);
    expect(new Set(ips).size).toBe(COUNT);
    expect(new Set(ports).size).toBe(COUNT);
    expect(ports.every((p) => typeof p === 'number' && p >= 20000 && p < 30000)).toBe(true);
    const ping = await lab.exec(`c${COUNT - 1}`, 'ping', '-c', '2', '-W', '1', '-i', '0.2', 'c0');
    expect(pingReplies(ping.stdout)).toBeGreaterThan(0);
  });
});
