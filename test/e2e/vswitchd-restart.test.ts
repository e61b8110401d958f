/**
 * kill -9 of ovs-vswitchd in a lab with attachments: the helper's supervisor
 * starts a new one, which reopens every port with new packet sockets at
 * rmem_default (208 KiB); the controller notices the new pid and raises them
 * again to ARCA_OVS_PORT_RCVBUF (8 MiB) without any new plug (issue 14).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LabContainer,
  readPidfile,
  runCommand,
  waitFor,
} from '../../packages/lab/dist/index.js';
import { LabHarness, pingReplies } from './harness.js';

const lab = new LabHarness('vswitchd');
const pidfile = () => join(lab.dir, 'helper', 'run', 'ovs-vswitchd.pid');

/**
 * SO_RCVBUF of each packet socket of ovs-vswitchd `pid` bound to a port (`*:<iface>` in
 * `ss -0 -a -m -p` in the helper). Its unbound send socket (`[0]:*`, made at its first
 * transmit) receives nothing and is not checked.
 */
async function vswitchdRcvbufs(pid: number): Promise<number[]> {
  const out = (
    await runCommand(['ip', 'netns', 'exec', `${lab.prefix}-helper`, 'ss', '-0', '-a', '-m', '-p'])
  ).stdout;
  return out
    .split('\n')
    .filter((line) => line.includes(`"ovs-vswitchd",pid=${pid},`) && /\s\*:[^*\s]/.test(line))
    .map((line) => Number(/rb(\d+)/.exec(line)?.[1]));
}

beforeAll(async () => {
  await lab.up({ vsnet: '10.78.0.0/24' }, { a: 'vsnet', b: 'vsnet' });
}, 300_000);

afterAll(async () => {
  await lab.down();
});

describe('ovs-vswitchd restarted by the supervisor', () => {
  it('gets its port socket buffers raised again, and traffic goes on', async () => {
    const old = (await readPidfile(pidfile())) as number;
    expect(old).toBeGreaterThan(0);
    const before = await vswitchdRcvbufs(old);
    expect(before.length).toBeGreaterThanOrEqual(2);
    for (const rb of before) expect(rb).toBeGreaterThanOrEqual(8 * 1024 * 1024);

    process.kill(old, 'SIGKILL');
    let pid: number | undefined;
    expect(
      await waitFor(
        async () => {
          pid = await readPidfile(pidfile());
          return pid !== undefined && pid !== old;
        },
        { timeoutMs: 30_000 },
      ),
    ).toBe(true);
    let after: number[] = [];
    const raised = await waitFor(
      async () => {
        after = await vswitchdRcvbufs(pid as number);
        return after.length >= before.length && after.every((rb) => rb >= 8 * 1024 * 1024);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(raised, `rcvbufs of the new ovs-vswitchd: ${after.join(', ')}`).toBe(true);

    const b = (await lab.json<LabContainer>('lab', 'stats', 'b')).attachments[0]?.ip ?? '';
    const ping = await lab.exec('a', 'ping', '-c', '3', '-i', '0.2', '-W', '2', b);
    expect(pingReplies(ping.stdout)).toBe(3);
    // The controller logs through the helper's supervisor into <lab>/logs/helper.log.
    const log = await readFile(join(lab.dir, 'logs', 'helper.log'), 'utf8');
    expect(log).toMatch(/ovs-vswitchd restarted: raised its port socket buffers again/);
  });
});
