/**
 * `lab stop`, `lab start` and `lab restart` on a real lab: the container's
 * VM stand-in (namespace + forwarder) goes away and comes back through the
 * host library's containerStopped/containerStarted, with the same address
 * and MAC; its name leaves its peers' DNS while it is stopped and returns
 * on start; nobody else gets its address meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabContainer } from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('clife');

async function container(name: string): Promise<LabContainer> {
  const found = (await lab.json<LabContainer[]>('lab', 'ps')).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

async function resolve(from: string, name: string): Promise<string | undefined> {
  const result = await lab.exec(from, 'getent', 'hosts', name);
  return result.code === 0 ? result.stdout.split(/\s+/)[0] : undefined;
}

/** [ip, mac] of eth0 as the container's kernel has them. */
async function eth0(name: string): Promise<[string, string]> {
  const result = await lab.exec(name, 'ip', '-j', 'addr', 'show', 'eth0');
  const [link] = JSON.parse(result.stdout) as {
    address: string;
    addr_info: { family: string; local: string }[];
  }[];
  const inet = link?.addr_info.find((a) => a.family === 'inet');
  return [inet?.local ?? '', link?.address ?? ''];
}

let before: [string, string];

beforeAll(async () => {
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
  await lab.ok('network', 'create', '--subnet', '10.88.0.0/24', 'front');
  await lab.ok('lab', 'run', '--network', 'front', 'app');
  await lab.ok('lab', 'run', '--network', 'front', 'peer');
  before = await eth0('app');
  expect(before[1]).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
});

afterAll(async () => {
  await lab.down();
});

describe('lab stop / start / restart', () => {
  it('stop: the VM goes, its name leaves the peers, its address stays reserved', async () => {
    expect(await resolve('peer', 'app')).toBe(before[0]);
    const namespace = (await container('app')).namespace;
    expect(await lab.ok('lab', 'stop', 'app')).toBe('app\n');
    const app = await container('app');
    expect(app.state).toBe('exited');
    expect(app.attachments.map((a) => [a.status, a.ip, a.mac])).toEqual([
      ['stopped', before[0], before[1]],
    ]);
    expect(await lab.namespaces()).not.toContain(namespace);
    expect(await resolve('peer', 'app')).toBeUndefined();
    const other = await lab.cli('lab', 'run', '--network', 'front', '--ip', before[0], 'other');
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('Address already in use');
    const exec = await lab.exec('app', 'true');
    expect(exec.code).not.toBe(0);
    expect((await lab.cli('lab', 'status')).code).toBe(0);
  });

  it('start: the same address and MAC, the name back at the peers, traffic flows', async () => {
    expect(await lab.ok('lab', 'start', 'app')).toBe('app\n');
    expect((await container('app')).state).toBe('running');
    expect(await eth0('app')).toEqual(before);
    expect(await resolve('peer', 'app')).toBe(before[0]);
    const ping = await lab.exec('app', 'ping', '-c', '2', '-W', '2', '-i', '0.2', 'peer');
    expect(pingReplies(ping.stdout)).toBeGreaterThan(0);
  });

  it('restart keeps address and MAC too; start of a running one is a no-op', async () => {
    expect(await lab.ok('lab', 'restart', 'app')).toBe('app\n');
    expect(await eth0('app')).toEqual(before);
    expect(await resolve('peer', 'app')).toBe(before[0]);
    expect(await lab.ok('lab', 'start', 'app')).toBe('app\n');
    expect(await eth0('app')).toEqual(before);
  });

  it('an unknown name fails in its own line, the others still go', async () => {
    const result = await lab.cli('lab', 'stop', 'nosuch', 'peer');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('peer\n');
    expect(result.stderr.trim()).toBe('Error response from daemon: No such container: nosuch');
    expect((await container('peer')).state).toBe('exited');
    expect(await resolve('app', 'peer')).toBeUndefined();
    await lab.ok('lab', 'start', 'peer');
    expect(await resolve('app', 'peer')).toBeDefined();
  });

  it('a stopped container can be removed; its address is free again', async () => {
    await lab.ok('lab', 'stop', 'app');
    expect(await lab.ok('lab', 'rm', 'app')).toBe('app\n');
    expect((await lab.json<LabContainer[]>('lab', 'ps')).map((c) => c.name)).toEqual(['peer']);
    await lab.ok('lab', 'run', '--network', 'front', '--ip', before[0], 'again');
    expect(await resolve('peer', 'again')).toBe(before[0]);
  });
});
