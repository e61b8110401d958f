import { spawn } from 'node:child_process';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, tryCommand } from '../../packages/lab/dist/index.js';
import { CLI, LabHarness } from './harness.js';

const lab = new LabHarness('life');

afterAll(async () => {
  await lab.down();
});

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

describe('lab commands without a running lab', () => {
  it('lab run says to start the lab, exits 3 and creates nothing', async () => {
    const result = await lab.cli('lab', 'run', 'web');
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('arca-net lab up');
    expect(await lab.namespaces()).toEqual([]);
    expect(await exists(lab.dir)).toBe(false);
  });

  it('network commands exit 3 with one line', async () => {
    for (const args of [
      ['network', 'ls'],
      ['network', 'create', 'front'],
      ['network', 'rm', 'front'],
    ]) {
      const result = await lab.cli(...args);
      expect(result.code).toBe(3);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('lab status exits 3', async () => {
    const result = await lab.cli('lab', 'status', '--json');
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ running: false });
  });

  it('lab down is idempotent when there is nothing to remove', async () => {
    expect((await lab.cli('lab', 'down')).code).toBe(0);
    expect((await lab.cli('lab', 'down')).code).toBe(0);
  });

  it('lab down removes what a crashed lab left behind: namespaces, their processes, the directory', async () => {
    await mkdir(`${lab.dir}/pids`, { recursive: true });
    await writeFile(
      `${lab.dir}/lab.json`,
      JSON.stringify({ prefix: lab.prefix, createdAt: 'crashed' }),
    );
    const helper = `${lab.prefix}-helper`;
    const container = `${lab.prefix}-c-0123456789ab`;
    for (const ns of [helper, container])
      expect((await tryCommand(['ip', 'netns', 'add', ns])).code).toBe(0);
    const sleeper = spawn('ip', ['netns', 'exec', container, 'sleep', '600'], {
      detached: true,
      stdio: 'ignore',
    });
    sleeper.unref();
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    await writeFile(`${lab.dir}/pids/c-crashed.pid`, `${sleeper.pid}\n`);

    const result = await lab.cli('lab', 'down');
    expect(result.code).toBe(0);
    expect(await lab.namespaces()).toEqual([]);
    expect(await exists(lab.dir)).toBe(false);
    expect(await processAlive(sleeper.pid ?? 0)).toBe(false);
  });

  it('lab up without root says so in one line and exits 3', async () => {
    const result = await tryCommand(
      [
        ...['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        ...[process.execPath, CLI, 'lab', 'up'],
      ],
      { env: lab.env },
    );
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toBe(
      'arca-net: the lab needs root (network namespaces, TAP devices, Open vSwitch): run it with sudo',
    );
    expect(await exists(lab.dir)).toBe(false);
  });
});

describe('a crashed lab host', () => {
  it('is resumed by the next lab up (only lab down deletes): containers keep their IP and MAC, and the lab works', async () => {
    expect((await lab.cli('lab', 'up')).code).toBe(0);
    await lab.ok('lab', 'run', 'first');
    type Ps = Array<{ name: string; attachments: Array<{ ip: string; mac: string }> }>;
    const before = await lab.json<Ps>('lab', 'ps');
    const pid = Number((await readFile(`${lab.dir}/host.pid`, 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    const status = await lab.cli('lab', 'status');
    expect(status.code).toBe(3);

    const up = await lab.cli('lab', 'up');
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('resuming the lab host process on its state');
    expect(up.stderr).not.toContain('cleaning up');
    const after = await lab.json<Ps>('lab', 'ps');
    expect(after.map((c) => [c.name, c.attachments.map((a) => [a.ip, a.mac])])).toEqual(
      before.map((c) => [c.name, c.attachments.map((a) => [a.ip, a.mac])]),
    );
    await lab.ok('lab', 'run', 'second');
    const ps = await lab.json<Ps>('lab', 'ps');
    expect(ps.map((c) => c.name)).toEqual(['first', 'second']);
    const firstIp = ps[0]?.attachments[0]?.ip ?? '';
    const ping = await lab.exec('second', 'ping', '-c', '1', '-W', '5', firstIp);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect((await lab.cli('lab', 'down')).code).toBe(0);
    expect(await lab.namespaces()).toEqual([]);
    expect(await lab.processes()).toEqual([]);
  });
});
