/**
 * Faults on a running lab, each mid-traffic: kill -9 of the controller,
 * ovn-northd, ovn-controller, a forwarder and the lab host. Traffic must come
 * back by itself (the lab host only through `lab up`, which resumes it), and
 * every container keeps its IP and MAC. The longest gap between ping replies
 * is each fault's recovery time, written to stdout (measured, never asserted). Plus hostile guests
 * whose data port accepts and at once sends a bad frame length (the link is
 * quarantined) or closes (re-dials back off), with the lab host's and the
 * controller's CPU meanwhile.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPidfile, tryCommand, waitFor } from '../../packages/lab/dist/index.js';
import {
  addHostileCases,
  type HostileCase,
  mergeReliabilityReport,
} from '../reliability/report-out.js';
import { CLI, cpuSeconds, LabHarness } from './harness.js';

const lab = new LabHarness('faults');

interface Attachment {
  networkName: string;
  ip: string;
  mac: string;
  port: number | null;
  relay?: { protocolCloses?: number; quarantines?: number; connects?: number };
}
interface Container {
  name: string;
  namespace: string;
  attachments: Attachment[];
}

const recoveries: Array<{ name: string; recovered: boolean; recoverySeconds: number }> = [];
const hostile: HostileCase[] = [];

/** `name → [ip, mac]` of every container: what no fault may change. */
async function addressing(): Promise<Record<string, string[]>> {
  const ps = await lab.json<Container[]>('lab', 'ps');
  return Object.fromEntries(ps.map((c) => [c.name, c.attachments.map((a) => `${a.ip} ${a.mac}`)]));
}

/** A ping every 50 ms from `namespace`, with each reply's timestamp. */
class Pinger {
  readonly replies: number[] = [];
  readonly #child: ChildProcess;
  constructor(namespace: string, target: string) {
    this.#child = spawn('ip', ['netns', 'exec', namespace, 'ping', '-D', '-i', '0.05', target], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let rest = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^\[(\d+\.\d+)\].*bytes from/.exec(line);
        if (m) this.replies.push(Number(m[1]));
      }
    });
  }
  /** Replies received after `since` (seconds since the epoch). */
  after(since: number): number {
    return this.replies.filter((t) => t > since).length;
  }
  /** Longest gap between two replies around `since`, seconds. */
  gapAround(since: number): number {
    const window = this.replies.filter((t) => t > since - 2);
    let gap = 0;
    for (let i = 1; i < window.length; i++) {
      gap = Math.max(gap, (window[i] as number) - (window[i - 1] as number));
    }
    return gap;
  }
  stop(): void {
    this.#child.kill();
  }
}

let pinger: Pinger;

/**
 * Runs `fault` while `a` pings `b`: waits (bounded) until 40 replies came
 * after it, records the longest gap, and checks that no address changed.
 */
async function survive(name: string, fault: () => Promise<void>): Promise<number> {
  const before = await addressing();
  expect(
    await waitFor(async () => pinger.after(Date.now() / 1000 - 1) >= 10, { timeoutMs: 30_000 }),
  ).toBe(true);
  const at = Date.now() / 1000;
  await fault();
  const recovered = await waitFor(async () => pinger.after(at) >= 40, {
    timeoutMs: 90_000,
    intervalMs: 100,
  });
  const recoverySeconds = Math.round(pinger.gapAround(at) * 100) / 100;
  recoveries.push({ name, recovered, recoverySeconds });
  process.stdout.write(`fault ${name}: traffic back after ${recoverySeconds} s\n`);
  expect(recovered, `${name}: traffic did not come back`).toBe(true);
  expect(await addressing()).toEqual(before);
  return recoverySeconds;
}

/** `lab status`'s observed forwarders row is healthy (it exits 3 while anything is not: read its JSON either way). */
async function forwardersHealthy(): Promise<boolean> {
  const status = await lab.cli('lab', 'status', '--json');
  const parsed = JSON.parse(status.stdout || '{}') as {
    components?: Array<{ name: string; healthy: boolean }>;
  };
  return parsed.components?.find((c) => c.name === 'forwarders (observed)')?.healthy === true;
}

async function kill9(pidfile: string): Promise<void> {
  const pid = await readPidfile(pidfile);
  expect(pid, pidfile).toBeGreaterThan(0);
  process.kill(pid as number, 'SIGKILL');
}

beforeAll(async () => {
  await lab.up({ faultnet: '10.77.0.0/24' }, { a: 'faultnet', b: 'faultnet' });
  const ps = await lab.json<Container[]>('lab', 'ps');
  const a = ps.find((c) => c.name === 'a') as Container;
  const b = ps.find((c) => c.name === 'b') as Container;
  pinger = new Pinger(a.namespace, b.attachments[0]?.ip ?? '');
});

afterAll(async () => {
  pinger?.stop();
  process.stdout.write(`fault recoveries: ${JSON.stringify(recoveries)}\n`);
  // `make soak` collects the report (test/reliability/report.mjs).
  await mergeReliabilityReport((report) => ({ ...report, faults: recoveries }));
  await addHostileCases(hostile);
  await lab.down();
});

describe('every crash repairs itself, mid-traffic, addresses kept', () => {
  const helperRun = () => join(lab.dir, 'helper', 'run');

  it('kill -9 of the controller: its supervisor restarts it and the relays come back', async () => {
    await survive('controller', () => kill9(join(helperRun(), 'controller.pid')));
  });

  it('kill -9 of ovn-northd: restarted, traffic goes on', async () => {
    await survive('ovn-northd', () => kill9(join(helperRun(), 'ovn-northd.pid')));
  });

  it('kill -9 of ovn-controller: restarted, traffic goes on', async () => {
    await survive('ovn-controller', () => kill9(join(helperRun(), 'ovn-controller.pid')));
  });

  it("kill -9 of a container's forwarder: the lab restarts it and the host re-applies its attachments", async () => {
    await survive('forwarder', () => kill9(join(lab.dir, 'pids', 'c-b.pid')));
    expect(await waitFor(forwardersHealthy, { timeoutMs: 30_000, intervalMs: 250 })).toBe(true);
  });

  it('kill -9 of a forwarder during a connect: the connect succeeds or leaves nothing, and a retry works', async () => {
    await lab.ok('network', 'create', 'second', '--subnet', '10.78.0.0/24');
    const connect = lab.cli('network', 'connect', 'second', 'b');
    await kill9(join(lab.dir, 'pids', 'c-b.pid'));
    const result = await connect;
    const onSecond = async () =>
      (
        (await lab.json<Container[]>('lab', 'ps')).find((c) => c.name === 'b')?.attachments ?? []
      ).filter((a) => a.networkName === 'second').length;
    if (result.code === 0) {
      expect(await onSecond()).toBe(1);
    } else {
      expect(await onSecond()).toBe(0);
      // Once the forwarder is back (and repaired), the connect works.
      expect(await waitFor(forwardersHealthy, { timeoutMs: 30_000, intervalMs: 250 })).toBe(true);
      await lab.ok('network', 'connect', 'second', 'b');
    }
    process.stdout.write(
      `forwarder killed during a connect: the connect ${result.code === 0 ? 'succeeded' : `failed (${result.stderr.trim()})`}\n`,
    );
    const at = Date.now() / 1000;
    expect(await waitFor(async () => pinger.after(at) >= 10, { timeoutMs: 30_000 })).toBe(true);
    await lab.ok('lab', 'run', 'c', '--network', 'second');
    const b = (await lab.json<Container[]>('lab', 'ps')).find((c) => c.name === 'b') as Container;
    const bSecond = b.attachments.find((a) => a.networkName === 'second')?.ip ?? '';
    const ping = await lab.exec('c', 'ping', '-c', '1', '-W', '5', bSecond);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  });

  it('kill -9 of the lab host: lab up resumes it on its state', async () => {
    await survive('lab host (until lab up resumed it)', async () => {
      await kill9(join(lab.dir, 'host.pid'));
      const up = await lab.cli('lab', 'up');
      expect(up.code, up.stderr).toBe(0);
    });
  });

  it('the helper restarts are counted in lab status', async () => {
    const status = await lab.json<{ components: Array<{ name: string; detail: string }> }>(
      'lab',
      'status',
    );
    const detail = (name: string) => status.components.find((c) => c.name === name)?.detail ?? '';
    expect(detail('controller')).toContain('restarted 1 time');
    expect(detail('ovn-northd')).toContain('restarted 1 time');
  });
});

describe('the command line when its reader or its caller goes away', () => {
  it('lab ps --json into a reader that is gone: no EPIPE stack trace, exit 0', async () => {
    // `true` exits before the CLI writes: its write meets EPIPE.
    const result = await tryCommand(
      ['bash', '-c', `set -o pipefail; '${process.execPath}' '${CLI}' lab ps --json | true`],
      { env: lab.env },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to lab exec stops its command too',
    async (signal) => {
      const marker = `${Date.now() % 100000}`;
      const exec = spawn(
        process.execPath,
        [CLI, 'lab', 'exec', 'a', '--', 'sleep', `42${marker}`],
        {
          env: lab.env,
          stdio: 'ignore',
        },
      );
      // The command itself (`ip netns exec` execs it), not the CLI whose argv also names it.
      const running = async () =>
        (await tryCommand(['pgrep', '-f', `^sleep 42${marker}$`])).code === 0;
      expect(await waitFor(running, { timeoutMs: 20_000 })).toBe(true);
      exec.kill(signal);
      expect(await waitFor(async () => !(await running()), { timeoutMs: 10_000 })).toBe(true);
    },
  );
});

describe('files', () => {
  it("the lab's state, databases and logs are root's only", async () => {
    expect((await stat(lab.dir)).mode & 0o777).toBe(0o700);
    for (const file of [
      'host.db',
      'lab.json',
      'logs/host.log',
      'logs/helper.log',
      'helper/state/conf.db',
      'helper/state/ovnnb_db.db',
      'helper/run/log/ovs-vswitchd.log',
    ]) {
      expect((await stat(join(lab.dir, file))).mode & 0o077, file).toBe(0);
    }
  });
});

/**
 * A hostile guest in place of container `name`'s: its data port (a Unix socket
 * in the lab, unixdir:) is taken over by a listener that calls `onSocket`, and
 * its forwarder is killed (its stream closes and the host re-dials into the
 * listener); a stand-in in its pidfile keeps the lab from starting a new one.
 * Measures the lab host's and the controller's CPU from the kill on.
 */
class HostileGuest {
  readonly accepts: number[] = [];
  #server: Server | undefined;
  #standIn: ChildProcess | undefined;
  #pids: number[] = [];
  #cpuBefore: number[] = [];
  #startedAt = 0;

  async start(name: string, onSocket: (socket: Socket) => void): Promise<void> {
    await lab.ok('lab', 'run', name, '--network', 'faultnet');
    const c = (await lab.json<Container[]>('lab', 'ps')).find((x) => x.name === name) as Container;
    const port = c.attachments[0]?.port;
    expect(port).toBeGreaterThan(0);
    const path = join(lab.dir, 'vms', `c-${name}`, `${port}.sock`);
    await rm(path, { force: true });
    const server = createServer((socket) => {
      this.accepts.push(Date.now());
      socket.on('error', () => undefined);
      onSocket(socket);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(path, resolve));
    const pidfile = join(lab.dir, 'pids', `c-${name}.pid`);
    const forwarder = (await readPidfile(pidfile)) as number;
    this.#standIn = spawn('sleep', ['600'], { stdio: 'ignore' });
    await writeFile(pidfile, `${this.#standIn.pid}\n`);
    this.#pids = await Promise.all(
      [join(lab.dir, 'host.pid'), join(lab.dir, 'helper', 'run', 'controller.pid')].map(
        async (file) => (await readPidfile(file)) as number,
      ),
    );
    this.#cpuBefore = await Promise.all(this.#pids.map(cpuSeconds));
    this.#startedAt = Date.now();
    process.kill(forwarder, 'SIGKILL');
  }

  /** The lab host's and the controller's share of a core since the kill, as a sentence. */
  async cpu(until: string): Promise<string> {
    const seconds = (Date.now() - this.#startedAt) / 1000;
    const after = await Promise.all(this.#pids.map(cpuSeconds));
    const [host, controller] = after.map((x, i) =>
      Math.round((100 * (x - (this.#cpuBefore[i] as number))) / seconds),
    );
    return `lab host ${host} % and controller ${controller} % of a core over the ${seconds.toFixed(1)} s ${until}`;
  }

  close(): void {
    this.#server?.close();
    this.#standIn?.kill();
  }
}

describe('a hostile guest that answers every data connection with a bad frame length', () => {
  const guest = new HostileGuest();
  afterAll(() => guest.close());

  it('gets a bounded number of re-dials, then its link is quarantined (counted in lab stats)', async () => {
    await guest.start('h', (socket) => socket.end(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    const stats = async () =>
      (await lab.json<Container>('lab', 'stats', 'h')).attachments[0]?.relay ?? {};
    const quarantined = await waitFor(async () => ((await stats()).quarantines ?? 0) >= 1, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    expect(quarantined).toBe(true);
    const cpu = await guest.cpu('until quarantine');
    const accepted = guest.accepts.length;
    const relay = await stats();
    expect(relay.protocolCloses).toBeGreaterThanOrEqual(5);
    // Without the backoff this was ~2,800 connections a second.
    expect(accepted).toBeLessThan(20);
    process.stdout.write(
      `hostile guest: ${accepted} connections until quarantined (${relay.protocolCloses} protocol errors); ${cpu}\n`,
    );
    hostile.push({
      name: 'guest data port that answers with a bad frame length',
      contained: quarantined && accepted < 20,
      detail: `${accepted} connections until quarantined (${relay.protocolCloses} protocol errors); re-dialling paused 60 s; ${cpu}`,
    });
    const stdout = (await lab.cli('lab', 'stats', 'h')).stdout;
    expect(stdout).toContain('QUARANTINED');
  });

  it('the other containers were not disturbed', async () => {
    const at = Date.now() / 1000;
    expect(await waitFor(async () => pinger.after(at) >= 10, { timeoutMs: 30_000 })).toBe(true);
    const log = await readFile(join(lab.dir, 'logs', 'host.log'), 'utf8');
    expect(log).toContain('relay quarantined');
  });
});

describe('a hostile guest that accepts every data connection and closes it at once', () => {
  const guest = new HostileGuest();
  afterAll(() => guest.close());

  it('is re-dialled with a doubling delay, not in a loop', async () => {
    await guest.start('k', (socket) => socket.destroy());
    // Waits 0, then 50–100, 100–200, … ms: the 7th connection comes at least 1.6 s after the 6th.
    expect(await waitFor(async () => guest.accepts.length >= 7, { timeoutMs: 60_000 })).toBe(true);
    const cpu = await guest.cpu('until the 7th connection');
    const [sixth, seventh] = guest.accepts.slice(5, 7) as [number, number];
    const gap = (seventh - sixth) / 1000;
    // A lower bound set by the backoff (load only makes it longer); without it, a tight loop.
    expect(gap).toBeGreaterThanOrEqual(1);
    process.stdout.write(
      `hostile guest (accept and close): 7 connections, the last gap ${gap} s; ${cpu}\n`,
    );
    hostile.push({
      name: 'guest data port that accepts and closes every connection',
      contained: gap >= 1,
      detail: `7 connections, ${gap.toFixed(1)} s between the 6th and the 7th (the delay doubles up to 30 s); ${cpu}`,
    });
  });
});
