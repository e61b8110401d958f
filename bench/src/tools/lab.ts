/**
 * An arca-net lab driven by a benchmark: `lab up` / `lab down` through the
 * real `arca-net` executable, everything timed through the lab host's JSON API
 * (`HostClient` of @arca-net/cli, on `<lab>/host.sock`, so no CLI start-up
 * lands in a measurement), and the helper's controller killed and started
 * again the way `lab up` starts it.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  type ComponentHealth,
  type ContainerView,
  HostClient,
  type NetworkView,
} from '@arca-net/cli';
import { run } from '../exec.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = path.join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
const HELPER_STARTUP = path.join(repoRoot, 'helpervm', 'startup.sh');

export type LabNetwork = NetworkView;
export type LabContainer = ContainerView;

/** Where a lab lives: its directory and the prefix of its namespaces. */
export interface LabLocation {
  dir: string;
  prefix: string;
}

/** The host relay engines a lab can run with (`lab up --host-relay`). */
export type HostRelay = 'native' | 'ts' | 'polling';

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A lab of the benchmark's own, in its own directory and namespace prefix. */
export class BenchLab {
  readonly host: HostClient;

  constructor(readonly location: LabLocation) {
    this.host = new HostClient(path.join(location.dir, 'host.sock'));
  }

  private get dir(): string {
    return this.location.dir;
  }

  get helperNamespace(): string {
    return `${this.location.prefix}-helper`;
  }

  /** The helper's `ARCA_HELPER_RUN`: OVS/OVN sockets and pidfiles. */
  get helperRun(): string {
    return path.join(this.dir, 'helper', 'run');
  }

  /** `arca-net ARGS… --lab-dir DIR --prefix P` (ARGS without a `--` separator); resolves with stdout. */
  async cli(...args: string[]): Promise<string> {
    const argv = [process.execPath, CLI, ...args];
    const result = await run(
      [...argv, '--lab-dir', this.location.dir, '--prefix', this.location.prefix],
      180_000,
    );
    return result.stdout;
  }

  /** `arca-net lab up` (which cleans up what a crashed lab in the same place left). */
  async up(hostRelay: HostRelay = 'native'): Promise<void> {
    await this.cli('lab', 'up', '--quiet', '--host-relay', hostRelay);
  }

  /** `arca-net lab down`: removes every namespace, process and file of the lab; idempotent. */
  async down(): Promise<void> {
    await this.cli('lab', 'down', '--quiet');
  }

  /** Creates a network (`POST /v1/networks`). */
  createNetwork(body: { name: string; subnet: string; internal?: boolean }): Promise<LabNetwork> {
    return this.host.createNetwork(body);
  }

  /** Starts a container VM and connects it to `network` (`POST /v1/containers`, = `lab run`). */
  runContainer(name: string, network: string, ip?: string): Promise<LabContainer> {
    return this.host.runContainer(ip === undefined ? { name, network } : { name, network, ip });
  }

  /** Connects a running container to one more network (`network connect`). */
  connect(network: string, container: string): Promise<LabContainer> {
    return this.host.connect(network, { container });
  }

  /** Disconnects a container from a network (`network disconnect`). */
  disconnect(network: string, container: string): Promise<LabContainer> {
    return this.host.disconnect(network, { container });
  }

  /** The lab host's health, component by component. */
  health(): Promise<{ healthy: boolean; components: ComponentHealth[] }> {
    return this.host.health(10_000);
  }

  /** pids of the lab's processes on every data path that are not a container's forwarder. */
  helperPids(): Record<string, number[]> {
    const pick = (name: string, file: string): [string, number[]] => {
      const pid = readPid(file);
      return [name, pid === undefined ? [] : [pid]];
    };
    return Object.fromEntries([
      pick('lab host (host relays)', path.join(this.dir, 'host.pid')),
      pick('controller (helper relays)', path.join(this.helperRun, 'controller.pid')),
      pick('ovs-vswitchd', path.join(this.helperRun, 'ovs-vswitchd.pid')),
    ]);
  }

  // --- the helper's controller ---------------------------------------------------

  /** The pid of the helper's controller (`startup.sh run` execs it), checked to be this lab's. */
  async controllerPid(): Promise<number> {
    const pidfile = path.join(this.dir, 'helper', 'run', 'controller.pid');
    const pid = Number.parseInt(await readFile(pidfile, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${pidfile}`);
    const cmdline = await commandLine(pid);
    if (!cmdline.includes(this.dir)) {
      throw new Error(`pid ${pid} from ${pidfile} is not this lab's controller: '${cmdline}'`);
    }
    return pid;
  }

  /**
   * The environment of a running controller: what `lab up` gave
   * `startup.sh run` (plus the variables the script exports, which it sets
   * again on every start). Read it before killing the controller.
   */
  async controllerEnvironment(pid: number): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = {};
    for (const entry of (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    if (!env.ARCA_HELPER_RUN?.startsWith(this.dir)) {
      throw new Error(`pid ${pid} has no ARCA_HELPER_RUN under ${this.dir}`);
    }
    return env;
  }

  /**
   * Starts the helper again as `lab up` does: `startup.sh run` in the helper
   * namespace, detached, appending to `logs/helper.log`, with `env` (from
   * {@link controllerEnvironment}). OVS and OVN daemons that still run are
   * kept, then the controller is exec'd. Returns its pid.
   */
  async startHelper(env: NodeJS.ProcessEnv): Promise<number> {
    const log = openSync(path.join(this.dir, 'logs', 'helper.log'), 'a');
    let pid: number;
    try {
      const child = spawn(
        'ip',
        ['netns', 'exec', `${this.location.prefix}-helper`, HELPER_STARTUP, 'run'],
        {
          detached: true,
          stdio: ['ignore', log, log],
          env,
        },
      );
      pid = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('spawn', () => resolve(child.pid ?? -1));
      });
      child.unref();
    } finally {
      closeSync(log);
    }
    // `lab down` stops what the pidfiles name (after checking the command line).
    await writeFile(path.join(this.dir, 'pids', 'helper.pid'), `${pid}\n`);
    return pid;
  }

  /** Whether the controller's NetworkControl socket (port 9999) accepts a connection. */
  controllerListening(): Promise<boolean> {
    return socketAccepts(path.join(this.dir, 'vms', 'helper', '9999.sock'));
  }

  /** Lines of the lab host's log (JSON, one object a line). */
  async hostLog(): Promise<string[]> {
    try {
      return (await readFile(path.join(this.dir, 'logs', 'host.log'), 'utf8')).split('\n');
    } catch {
      return [];
    }
  }
}

async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Whether `pid` runs (exists and is not a zombie). */
export async function processAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== '' && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Resolves once every thread of `pid` has exited (its fds, listening sockets
 * included, are closed then); rejects after `timeoutMs`. A zombie leader whose
 * other threads still run keeps its files open, so the state alone is not enough.
 */
export async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let threads: string[] = [];
    try {
      threads = await readdir(`/proc/${pid}/task`);
    } catch {
      return;
    }
    if (!(await processAlive(pid)) && threads.length <= 1) return;
    if (Date.now() > deadline) throw new Error(`pid ${pid} still runs after ${timeoutMs} ms`);
    await sleep(1);
  }
}

function socketAccepts(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(file);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
