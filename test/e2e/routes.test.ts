/**
 * Default routes as Docker sets them, seen with `ip route` inside lab
 * containers: one per container, through the non-internal network that
 * sorts first (--gw-priority, then name); it moves on disconnect and on
 * connect, and internal networks never carry it. Egress to the lab's
 * outside namespace (198.51.100.1) follows the route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabContainer } from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('routes');
const OUTSIDE = '198.51.100.1';

/** `ip -j route show default` in the container: [device, gateway] of each default route. */
async function defaults(name: string): Promise<string[][]> {
  const result = await lab.exec(name, 'ip', '-j', '-4', 'route', 'show', 'default');
  expect(result.code, result.stderr).toBe(0);
  const routes = JSON.parse(result.stdout || '[]') as { dev: string; gateway: string }[];
  return routes.map((r) => [r.dev, r.gateway]);
}

async function deviceOn(name: string, network: string): Promise<string> {
  const c = await lab.json<LabContainer>('lab', 'stats', name);
  return c.attachments.find((a) => a.networkName === network)?.device ?? '';
}

async function egress(name: string): Promise<number> {
  const result = await lab.exec(name, 'ping', '-c', '1', '-W', '5', OUTSIDE);
  return pingReplies(result.stdout);
}

beforeAll(async () => {
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  await lab.ok('network', 'create', '--internal', '--subnet', '10.91.0.0/24', 'inner');
  await lab.ok('network', 'create', '--subnet', '10.92.0.0/24', 'front');
  await lab.ok('network', 'create', '--subnet', '10.93.0.0/24', 'zeta');
});

afterAll(async () => {
  await lab.down();
});

describe('default route', () => {
  it('an internal-only container has none, and gets one when it joins a normal network', async () => {
    await lab.ok('lab', 'run', '--network', 'inner', 'r1');
    expect(await defaults('r1')).toEqual([]);
    await lab.ok('network', 'connect', 'zeta', 'r1');
    expect(await defaults('r1')).toEqual([[await deviceOn('r1', 'zeta'), '10.93.0.1']]);
    expect(await egress('r1')).toBe(1);
  });

  it('goes through the network whose name sorts first, and moves back when it leaves', async () => {
    await lab.ok('network', 'connect', 'front', 'r1');
    expect(await defaults('r1')).toEqual([[await deviceOn('r1', 'front'), '10.92.0.1']]);
    expect(await egress('r1')).toBe(1);
    await lab.ok('network', 'disconnect', 'front', 'r1');
    expect(await defaults('r1')).toEqual([[await deviceOn('r1', 'zeta'), '10.93.0.1']]);
    expect(await egress('r1')).toBe(1);
  });

  it('--gw-priority wins over the name order', async () => {
    await lab.ok('network', 'disconnect', 'zeta', 'r1');
    expect(await defaults('r1')).toEqual([]);
    await lab.ok('network', 'connect', '--gw-priority', '5', 'zeta', 'r1');
    await lab.ok('network', 'connect', 'front', 'r1');
    expect(await defaults('r1')).toEqual([[await deviceOn('r1', 'zeta'), '10.93.0.1']]);
    const bad = await lab.cli('network', 'connect', '--gw-priority', 'high', 'inner', 'r1');
    expect(bad.code).toBe(2);
  });

  it('survives a stop and start of the container', async () => {
    await lab.ok('lab', 'restart', 'r1');
    expect(await defaults('r1')).toEqual([[await deviceOn('r1', 'zeta'), '10.93.0.1']]);
    expect(await egress('r1')).toBe(1);
  });
});
