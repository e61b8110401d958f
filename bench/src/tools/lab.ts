/**
 * An arca-net lab driven by a benchmark, through @arca-net/lab: `labUp` /
 * `labDown`, everything timed through the lab host's API (`LabClient`, on
 * `<lab>/host.sock`, so no CLI start-up lands in a measurement), and the
 * helper's controller killed and started again the way `lab up` starts it.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NetworkInspect, OffloadPreference, RelayEngine } from '@arca-net/host';
import {
  helperStartupScript,
  inNamespace,
  LabClient,
  type LabConfig,
  type LabContainer,
  type LabHealth,
  LabPaths,
  labDown,
  labUp,
  processAlive,
  processCommandLine,
  readPidfile,
  socketAccepts,
  spawnDetached,
} from '@arca-net/lab';

/** A lab of the benchmark's own, in its own directory and namespace prefix. */
export class BenchLab {
  readonly paths: LabPaths;
  readonly host: LabClient;

  constructor(readonly location: LabConfig) {
    this.paths = new LabPaths(location);
    this.host = new LabClient(this.paths.hostSocket);
  }

  get helperNamespace(): string {
    return this.paths.helperNamespace;
  }

  /** The helper's `ARCA_HELPER_RUN`: OVS/OVN sockets and pidfiles. */
  get helperRun(): string {
    return this.paths.helperRun;
  }

  /** `lab up` (which cleans up what a crashed lab in the same place left). */
  async up(hostRelay: RelayEngine = 'native', offload = false): Promise<void> {
    await labUp(this.paths, { hostRelay, offload: offload ? 'auto' : 'off' });
  }

  /** `lab down`: removes every namespace, process and file of the lab; idempotent. */
  async down(): Promise<void> {
    await labDown(this.paths);
  }

  /** Creates a network (`POST /v1/networks`). */
  createNetwork(body: {
    name: string;
    subnet: string;
    internal?: boolean;
  }): Promise<NetworkInspect> {
    return this.host.createNetwork(body);
  }

  /**
   * Starts a container VM and connects it to `network` (`POST /v1/containers`, = `lab run`),
   * at `options.ip` when given; `options.offload` overrides the lab's offload
   * preference for this attachment.
   */
  runContainer(
    name: string,
    network: string,
    options: { ip?: string; offload?: OffloadPreference } = {},
  ): Promise<LabContainer> {
    return this.host.runContainer({ name, network, ...options });
  }

  /** Removes containers (`lab rm`). */
  async removeContainers(...names: string[]): Promise<void> {
    for (const name of names) await this.host.removeContainer(name);
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
  health(): Promise<LabHealth> {
    return new LabClient(this.paths.hostSocket, { timeoutMs: 10_000 }).health();
  }

  /** pids of the lab's processes on every data path that are not a container's forwarder. */
  async helperPids(): Promise<Record<string, number[]>> {
    const pick = async (name: string, file: string): Promise<[string, number[]]> => {
      const pid = await readPidfile(file);
      return [name, pid === undefined ? [] : [pid]];
    };
    return Object.fromEntries([
      await pick('lab host (host relays)', this.paths.hostPidfile),
      await pick('controller (helper relays)', path.join(this.helperRun, 'controller.pid')),
      await pick('ovs-vswitchd', path.join(this.helperRun, 'ovs-vswitchd.pid')),
    ]);
  }

  // --- the helper's controller ---------------------------------------------------

  /** The pid of the helper's controller (`startup.sh run` execs it), checked to be this lab's. */
  async controllerPid(): Promise<number> {
    const pidfile = path.join(this.helperRun, 'controller.pid');
    const pid = await readPidfile(pidfile);
    if (pid === undefined) throw new Error(`no pid in ${pidfile}`);
    const cmdline = await processCommandLine(pid);
    if (!cmdline.includes(this.paths.dir)) {
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
    if (!env.ARCA_HELPER_RUN?.startsWith(this.paths.dir)) {
      throw new Error(`pid ${pid} has no ARCA_HELPER_RUN under ${this.paths.dir}`);
    }
    return env;
  }

  /**
   * Starts the helper again as `lab up` does: `startup.sh run` in the helper
   * namespace, detached, appending to `logs/helper.log`, with `env` (from
   * {@link controllerEnvironment}), its pid in the pidfile `lab down` reads.
   * OVS and OVN daemons that still run are kept, then the controller is
   * exec'd. Returns its pid.
   */
  startHelper(env: NodeJS.ProcessEnv): Promise<number> {
    return spawnDetached(inNamespace(this.helperNamespace, [helperStartupScript, 'run']), {
      logFile: this.paths.log('helper'),
      pidfile: this.paths.helperPidfile,
      env,
    });
  }

  /** Whether the controller's NetworkControl socket (port 9999) accepts a connection. */
  controllerListening(): Promise<boolean> {
    return socketAccepts(this.paths.controllerSocket);
  }

  /** Lines of the lab host's log (JSON, one object a line). */
  async hostLog(): Promise<string[]> {
    try {
      return (await readFile(this.paths.log('host'), 'utf8')).split('\n');
    } catch {
      return [];
    }
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
