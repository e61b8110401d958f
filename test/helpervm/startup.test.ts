/**
 * helpervm/startup.sh under Alpine's shell and userland: busybox `sh`, with
 * busybox's applets (sed, tr, cat, sleep, date, grep, …) ahead of Debian's
 * tools on PATH. No Alpine image can be fetched on this machine, so this is
 * the closest stand-in: the OVS/OVN binaries are Debian's, everything the
 * script itself runs is busybox. Needs root (a network namespace).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inNamespace,
  NetworkNamespace,
  processAlive,
  readPidfile,
  runCommand,
  socketAccepts,
  spawnDetached,
  waitFor,
} from '../../packages/lab/dist/index.js';

const script = fileURLToPath(new URL('../../helpervm/startup.sh', import.meta.url));
const nsName = `ahb${process.pid % 100000}`;
let ns: NetworkNamespace;
let dir: string;
let env: NodeJS.ProcessEnv;

/** Runs `busybox sh startup.sh COMMAND` in the namespace; resolves with exit code and output. */
async function startup(command: string): Promise<{ code: number; out: string }> {
  // `env` sets the busybox PATH inside the namespace only: busybox's own `ip`
  // applet must not stand in for iproute2's here.
  const assignments = Object.entries(env).map(([key, value]) => `${key}=${value}`);
  const argv = ['env', '-i', ...assignments, 'busybox', 'sh', script, command];
  const result = await ns.try(argv, { timeoutMs: 120_000 });
  return { code: result.code, out: result.stdout + result.stderr };
}

async function nbctl(...args: string[]): Promise<string> {
  const db = `--db=unix:${join(dir, 'run', 'ovnnb_db.sock')}`;
  return (await runCommand(['ovn-nbctl', db, ...args])).stdout;
}

const DAEMONS = [
  'ovsdb-server-ovs',
  'ovs-vswitchd',
  'ovsdb-server-nb',
  'ovsdb-server-sb',
  'ovn-northd',
  'ovn-controller',
];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'arca-helper-busybox-'));
  const bin = join(dir, 'busybox-bin');
  mkdirSync(bin);
  await runCommand(['busybox', '--install', '-s', bin]);
  env = {
    PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    ARCA_HELPER_STATE: join(dir, 'state'),
    ARCA_HELPER_RUN: join(dir, 'run'),
    ARCA_HELPER_TIMEOUT: '30',
  };
  ns = await NetworkNamespace.create(nsName);
});

afterAll(async () => {
  if (ns) {
    if (env) await startup('stop');
    await ns.delete();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('helpervm/startup.sh under busybox sh (Alpine userland)', () => {
  it('start brings up OVS and OVN, each behind a readiness check, and status lists them', async () => {
    const started = await startup('start');
    expect(started.code, started.out).toBe(0);
    expect(started.out).toContain('OVN pipeline ready');
    const status = await startup('status');
    for (const daemon of DAEMONS) expect(status.out).toMatch(new RegExp(`^${daemon} running`, 'm'));
    // No controller in `start` mode, so status reports that one stopped (exit 1).
    expect(status.out).toContain('controller stopped');
    expect(status.code).toBe(1);
  });

  it('the databases persist: a logical switch survives stop and start', async () => {
    await nbctl('ls-add', 'persist-check');
    expect((await startup('stop')).code).toBe(0);
    const stopped = await startup('status');
    for (const daemon of DAEMONS) expect(stopped.out).toContain(`${daemon} stopped`);
    expect((await startup('start')).code).toBe(0);
    expect(await nbctl('--bare', '--columns=name', 'list', 'Logical_Switch')).toContain(
      'persist-check',
    );
  });

  it('with ARCA_HELPER_UPLINK, start puts the interface on br-ex and maps OVN network "external" to it; without, both go', async () => {
    await ns.ip(['link', 'add', 'uplink0', 'type', 'veth', 'peer', 'name', 'uplink0p']);
    const vsctl = async (...args: string[]) =>
      (
        await runCommand(['ovs-vsctl', `--db=unix:${join(dir, 'run', 'ovs.sock')}`, ...args])
      ).stdout.trim();
    const plain = env;
    env = { ...plain, ARCA_HELPER_UPLINK: 'uplink0' };
    const incomplete = await startup('start');
    expect(incomplete.code).toBe(1);
    expect(incomplete.out).toContain('needs ARCA_EXTERNAL_CIDR and ARCA_EXTERNAL_GATEWAY');
    env = { ...env, ARCA_EXTERNAL_CIDR: '198.51.100.0/24', ARCA_EXTERNAL_GATEWAY: '198.51.100.1' };
    const started = await startup('start');
    expect(started.code, started.out).toBe(0);
    expect(started.out).toContain('uplink uplink0 on br-ex');
    // arca-fwd0: the published-port forwarder's address, the CIDR's last host.
    expect(await vsctl('list-ports', 'br-ex')).toBe('arca-fwd0\nuplink0');
    expect((await ns.ip(['-4', '-o', 'addr', 'show', 'arca-fwd0'])).stdout).toContain(
      'inet 198.51.100.254/24',
    );
    expect(await vsctl('get', 'Bridge', 'br-ex', 'datapath_type')).toBe('netdev');
    expect(await vsctl('get', 'Open_vSwitch', '.', 'external_ids:ovn-bridge-mappings')).toBe(
      '"external:br-ex"',
    );
    env = plain;
    expect((await startup('stop')).code).toBe(0);
    expect((await startup('start')).code).toBe(0);
    expect(await vsctl('list-br')).toBe('br-int');
    expect(await vsctl('get', 'Open_vSwitch', '.', 'external_ids')).not.toContain(
      'ovn-bridge-mappings',
    );
  });

  it('an unknown subcommand prints the usage and fails', async () => {
    const result = await startup('frobnicate');
    expect(result.code).toBe(1);
    expect(result.out).toContain('usage:');
  });
});

describe('startup.sh run supervises the controller and OVS/OVN (busybox sh)', () => {
  const pidOf = (name: string) => readPidfile(join(dir, 'run', `${name}.pid`));
  /** Waits (bounded) until `name` runs under a pid other than `old`. */
  const restarted = (name: string, old: number) =>
    waitFor(
      async () => {
        const pid = await pidOf(name);
        return pid !== undefined && pid !== old && (await processAlive(pid));
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  it('restarts a killed controller and a killed ovn-northd, counts the restarts, and stop ends everything with the supervisor first', async () => {
    expect((await startup('stop')).code).toBe(0);
    const vmDir = join(dir, 'vm');
    const assignments = Object.entries({
      ...env,
      ARCA_CONTROLLER_LISTEN: `unixdir:${vmDir}`,
    }).map(([key, value]) => `${key}=${value}`);
    const supervisor = await spawnDetached(
      inNamespace(nsName, ['env', '-i', ...assignments, 'busybox', 'sh', script, 'run']),
      { logFile: join(dir, 'run.log') },
    );
    const controlSocket = join(vmDir, '9999.sock');
    expect(
      await waitFor(() => socketAccepts(controlSocket), { timeoutMs: 90_000, intervalMs: 100 }),
    ).toBe(true);
    expect(await pidOf('supervisor')).toBeGreaterThan(0);

    const controller = (await pidOf('controller')) as number;
    process.kill(controller, 'SIGKILL');
    expect(await restarted('controller', controller)).toBe(true);
    expect(
      await waitFor(() => socketAccepts(controlSocket), { timeoutMs: 60_000, intervalMs: 100 }),
    ).toBe(true);

    const northd = (await pidOf('ovn-northd')) as number;
    process.kill(northd, 'SIGKILL');
    expect(await restarted('ovn-northd', northd)).toBe(true);
    const status = await startup('status');
    expect(status.code, status.out).toBe(0);
    expect((await readFile(join(dir, 'run', 'controller.restarts'), 'utf8')).trim()).toBe('1');
    expect((await readFile(join(dir, 'run', 'ovn-northd.restarts'), 'utf8')).trim()).toBe('1');

    const stopped = await startup('stop');
    expect(stopped.code, stopped.out).toBe(0);
    expect(
      await waitFor(async () => !(await processAlive(supervisor)), { timeoutMs: 30_000 }),
    ).toBe(true);
    const after = await startup('status');
    for (const daemon of ['controller', ...DAEMONS])
      expect(after.out).toContain(`${daemon} stopped`);
  });
});
