/**
 * Docker's network options on a real lab: the MTU from
 * `-o com.docker.network.driver.mtu` on eth0, on the helper's TAP and OVS
 * interface and in the DHCP lease (asked with udhcpc); the lease's router
 * only on non-internal networks; `--driver`, several `--subnet`s and the
 * predefined networks refused in Docker's words; `--ip` outside the
 * ip-range; `network rm` of several names; `network prune`; `network ls`
 * filters and formats; options of every command before the command.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkInspect } from '../../packages/host/dist/index.js';
import { inNamespace, type LabContainer, runCommand } from '../../packages/lab/dist/index.js';
import { LabHarness } from './harness.js';

const lab = new LabHarness('opts');
let scratch = '';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] ?? '';
}

async function names(): Promise<string[]> {
  return (await lab.json<NetworkInspect[]>('network', 'ls')).map((n) => n.Name).sort();
}

/** The lease udhcpc is offered on `device` (configuring nothing): its router and MTU options. */
async function lease(container: string, device: string): Promise<Record<string, string>> {
  const script = join(scratch, 'lease.sh');
  const result = await lab.exec(
    container,
    ...['busybox', 'udhcpc', '-i', device, '-f', '-q', '-n', '-t', '5', '-T', '1', '-O', 'mtu'],
    ...['-s', script],
  );
  const line = /LEASE (.*)/.exec(result.stdout)?.[1] ?? '';
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'arcanet-opts-'));
  await writeFile(
    join(scratch, 'lease.sh'),
    '#!/bin/sh\n[ "$1" = bound ] && echo "LEASE ip=$ip router=$router mtu=$mtu"\nexit 0\n',
  );
  await chmod(join(scratch, 'lease.sh'), 0o755);
  const up = await lab.cli('lab', 'up');
  if (up.code !== 0) throw new Error(`lab up failed: ${up.stderr}`);
});

afterAll(async () => {
  await lab.down();
  await rm(scratch, { recursive: true, force: true });
});

describe('MTU from -o com.docker.network.driver.mtu', () => {
  it('reaches eth0, both TAPs, the OVS interface and the DHCP lease', async () => {
    await lab.ok(
      ...['network', 'create', '-o', 'com.docker.network.driver.mtu=1400'],
      ...['--subnet', '10.94.0.0/24', 'small'],
    );
    const [small] = await lab.json<NetworkInspect[]>('network', 'inspect', 'small');
    expect(small?.Options).toEqual({ 'com.docker.network.driver.mtu': '1400' });
    await lab.ok('lab', 'run', '--network', 'small', 'm1');
    const link = await lab.exec('m1', 'ip', '-j', 'link', 'show', 'eth0');
    expect((JSON.parse(link.stdout) as { mtu: number }[])[0]?.mtu).toBe(1400);

    const m1 = await lab.json<LabContainer>('lab', 'stats', 'm1');
    const db = `unix:${lab.dir}/helper/run/ovs.sock`;
    const vsctl = (...args: string[]) => runCommand(['ovs-vsctl', `--db=${db}`, ...args]);
    const port = (
      await vsctl(
        '--bare',
        '--columns=name',
        'find',
        'Interface',
        `external_ids:container_id=${m1.id}`,
      )
    ).stdout.trim();
    expect(port).not.toBe('');
    expect((await vsctl('get', 'Interface', port, 'mtu_request')).stdout.trim()).toBe('1400');
    const helperTap = await runCommand(
      inNamespace(`${lab.prefix}-helper`, ['ip', '-j', 'link', 'show', port]),
    );
    expect((JSON.parse(helperTap.stdout) as { mtu: number }[])[0]?.mtu).toBe(1400);

    expect(await lease('m1', 'eth0')).toMatchObject({
      ip: m1.attachments[0]?.ip,
      router: '10.94.0.1',
      mtu: '1400',
    });
  });

  it("an internal network's lease has no router, as its containers have no default route", async () => {
    await lab.ok('network', 'create', '--internal', '--subnet', '10.96.0.0/24', 'inner');
    await lab.ok('network', 'connect', 'inner', 'm1');
    const got = await lease('m1', 'eth1');
    expect(got.ip).toMatch(/^10\.96\.0\./);
    expect(got.router ?? '').toBe('');
    expect(got.mtu).toBe('1500');
  });

  it('refuses an MTU outside 68..65535 and creates nothing', async () => {
    for (const mtu of ['67', '65536', 'big']) {
      const result = await lab.cli(
        ...['network', 'create', '-o', `com.docker.network.driver.mtu=${mtu}`, 'badmtu'],
      );
      expect(result.code).toBe(1);
      expect(oneLine(result.stderr)).toContain(`invalid MTU ${mtu}: must be 68..65535`);
    }
    expect(await names()).not.toContain('badmtu');
  });
});

describe("Docker's create and remove rules", () => {
  it('accepts --driver bridge, refuses another driver in Docker words', async () => {
    await lab.ok('network', 'create', '--driver', 'bridge', 'plain');
    const result = await lab.cli('network', 'create', '-d', 'foo', 'odd');
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe('Error response from daemon: plugin "foo" not found');
  });

  it('refuses two subnets as Docker 20.10 does', async () => {
    const result = await lab.cli(
      ...['network', 'create', '--subnet', '10.97.0.0/24', '--subnet', '10.98.0.0/24', 'two'],
    );
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(
      "Error response from daemon: bridge driver doesn't support multiple subnets",
    );
    expect(await names()).not.toContain('two');
  });

  it('keeps bridge, host and none predefined; the bridge subnet cannot be taken', async () => {
    const create = await lab.cli('network', 'create', 'host');
    expect(oneLine(create.stderr)).toBe(
      'Error response from daemon: operation is not permitted on predefined host network',
    );
    const remove = await lab.cli('network', 'rm', 'bridge');
    expect(remove.code).toBe(1);
    expect(oneLine(remove.stderr)).toBe(
      'Error response from daemon: bridge is a pre-defined network and cannot be removed',
    );
    const taken = await lab.cli('network', 'create', '--subnet', '172.17.0.0/16', 'x');
    expect(taken.code).toBe(1);
    expect(oneLine(taken.stderr)).toContain('Pool overlaps with other one on this address space');
    await lab.ok('lab', 'run', 'b1');
  });

  it('--ip anywhere in the subnet, also outside --ip-range, but not the gateway', async () => {
    await lab.ok(
      ...['network', 'create', '--subnet', '10.95.0.0/24', '--ip-range', '10.95.0.128/25'],
      'ranged',
    );
    await lab.ok('lab', 'run', '--network', 'ranged', '--ip', '10.95.0.20', 'ipc');
    const ipc = await lab.exec('ipc', 'ip', '-j', '-4', 'addr', 'show', 'eth0');
    expect(ipc.stdout).toContain('"local":"10.95.0.20"');
    const gw = await lab.cli('network', 'connect', '--ip', '10.95.0.1', 'ranged', 'b1');
    expect(oneLine(gw.stderr)).toBe('Error response from daemon: Address already in use');
  });

  it('network rm goes on past a failure, reports each, exits 1', async () => {
    await lab.ok('network', 'create', 'gone1');
    await lab.ok('network', 'create', 'gone2');
    const result = await lab.cli('network', 'rm', 'gone1', 'nosuch', 'gone2');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('gone1\ngone2\n');
    expect(oneLine(result.stderr)).toBe('Error response from daemon: network nosuch not found');
    expect(await names()).not.toContain('gone2');
  });

  it('network prune removes unused networks with the labels asked, never predefined or used ones', async () => {
    await lab.ok('network', 'create', '--label', 'keep=no', 'p1');
    await lab.ok('network', 'create', '--label', 'keep=yes', 'p2');
    const pruned = await lab.ok('network', 'prune', '-f', '--filter', 'label=keep=no');
    expect(pruned).toBe('Deleted Networks:\np1\n');
    const all = await lab.ok('network', 'prune', '--force');
    expect(all.split('\n').slice(1).filter(Boolean).sort()).toEqual(['p2', 'plain']);
    expect(await names()).toEqual(['bridge', 'inner', 'ranged', 'small']);
  });
});

describe('network ls filters and formats', () => {
  it('filters by name, label, driver and id; refuses an unknown filter', async () => {
    await lab.ok('network', 'create', '--label', 'tier=web', 'web1');
    expect(await lab.ok('network', 'ls', '--filter', 'name=smal', '--format', '{{.Name}}')).toBe(
      'small\n',
    );
    expect(await lab.ok('network', 'ls', '-f', 'label=tier=web', '--format', '{{.Name}}')).toBe(
      'web1\n',
    );
    const [web1] = await lab.json<NetworkInspect[]>('network', 'inspect', 'web1');
    const id = web1?.Id ?? '';
    expect(await lab.ok('network', 'ls', '-f', `id=${id.slice(0, 6)}`, '-q')).toBe(
      `${id.slice(0, 12)}\n`,
    );
    expect(await lab.ok('network', 'ls', '-f', 'name=web1', '-q', '--no-trunc')).toBe(`${id}\n`);
    expect(await lab.ok('network', 'ls', '-f', 'driver=overlay', '-q')).toBe('');
    const bad = await lab.cli('network', 'ls', '--filter', 'colour=red');
    expect(bad.code).toBe(1);
    expect(oneLine(bad.stderr)).toContain("Invalid filter 'colour'");
  });

  it('formats {{json .}} and table templates', async () => {
    const json = await lab.ok('network', 'ls', '-f', 'name=web1', '--format', '{{json .}}');
    expect(JSON.parse(json)).toMatchObject({
      Name: 'web1',
      Driver: 'bridge',
      Labels: { tier: 'web' },
    });
    const table = await lab.ok(
      'network',
      'ls',
      '-f',
      'name=web1',
      '--format',
      'table {{.Name}}\\t{{.Driver}}',
    );
    expect(table.split('\n')[0]).toMatch(/^NAME\s+DRIVER$/);
    expect(table.split('\n')[1]).toMatch(/^web1\s+bridge$/);
  });

  it('takes options of every command before the command', async () => {
    const result = await lab.cli('--lab-dir', lab.dir, '-q', 'network', 'ls', '-f', 'name=web1');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toHaveLength(12);
  });
});
