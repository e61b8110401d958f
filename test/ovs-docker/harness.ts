/**
 * The ovs-docker conformance suite's world: one helper namespace running a
 * private ovsdb-server + ovs-vswitchd (helpervm/startup.sh through the
 * controller suites' HelperOvn, its socket also linked as
 * `$OVS_RUNDIR/db.sock`, the default both tools use), "containers" that are
 * namespaces running `sleep`, and a fake `docker` on PATH that answers
 * `docker inspect -f '{{.State.Pid}}' NAME` for them (unknown names: real
 * docker's "Error: No such object: NAME", exit 1). Both the real
 * /usr/bin/ovs-docker and `arca-net ovs-docker` run inside the helper
 * namespace with that environment; nothing touches the machine's own OVS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  createWriteStream,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type CommandResult,
  NetworkNamespace,
  runCommand,
  waitFor,
} from '../../packages/lab/dist/index.js';
import { HelperOvn, repoRoot } from '../controller/harness.js';

export const SCRIPT = '/usr/bin/ovs-docker';
export const CLI_MAIN = join(repoRoot, 'packages/cli/dist/main.js');

const FAKE_DOCKER = `#!/bin/sh
# Answers only what ovs-docker asks: docker inspect -f '{{.State.Pid}}' NAME
if [ "$#" -ne 4 ] || [ "$1" != inspect ] || [ "$2" != -f ] || [ "$3" != '{{.State.Pid}}' ]; then
  echo "fake docker: unsupported: $*" >&2; exit 125
fi
f="$(dirname "$0")/../containers/$4"
if [ -f "$f" ]; then cat "$f"; else echo "Error: No such object: $4" >&2; exit 1; fi
`;

/** A "container": a namespace with a `sleep` whose pid the fake docker gives for its name. */
export interface FakeContainer {
  name: string;
  ns: NetworkNamespace;
  pid: number;
  process: ChildProcess;
}

export class OvsDockerWorld {
  private readonly containers: FakeContainer[] = [];
  private constructor(readonly helper: HelperOvn) {}

  static async start(name: string): Promise<OvsDockerWorld> {
    const helper = await HelperOvn.start(name);
    const world = new OvsDockerWorld(helper);
    symlinkSync(helper.ovn.ovsSock, join(helper.runDir, 'db.sock'));
    mkdirSync(join(helper.dir, 'bin'));
    mkdirSync(join(helper.dir, 'containers'));
    writeFileSync(join(helper.dir, 'bin', 'docker'), FAKE_DOCKER);
    chmodSync(join(helper.dir, 'bin', 'docker'), 0o755);
    return world;
  }

  /** PATH with the fake docker first, OVS_RUNDIR the private OVS's (override with `extra`). */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${join(this.helper.dir, 'bin')}:${process.env.PATH ?? ''}`,
      OVS_RUNDIR: this.helper.runDir,
      ...extra,
    };
  }

  /** Runs the real script inside the helper namespace. */
  script(args: readonly string[], extra?: NodeJS.ProcessEnv): Promise<CommandResult> {
    return this.helper.ns.try([SCRIPT, ...args], { env: this.env(extra), timeoutMs: 90_000 });
  }

  /** Runs `arca-net ovs-docker` inside the helper namespace. */
  ours(args: readonly string[], extra?: NodeJS.ProcessEnv): Promise<CommandResult> {
    return this.helper.ns.try([process.execPath, CLI_MAIN, 'ovs-docker', ...args], {
      env: this.env(extra),
      timeoutMs: 90_000,
    });
  }

  vsctl(...args: string[]): Promise<string> {
    return this.helper.vsctl(...args);
  }

  /** A netdev bridge (the script's add-br makes system-datapath ones, which pass no traffic here). */
  async addNetdevBridge(bridge: string): Promise<void> {
    await this.vsctl(
      '--may-exist',
      'add-br',
      bridge,
      '--',
      'set',
      'Bridge',
      bridge,
      'datapath_type=netdev',
    );
  }

  /** Starts container `name` (namespace `nsName`). */
  async container(name: string, nsName: string): Promise<FakeContainer> {
    const ns = await NetworkNamespace.create(nsName);
    const child = spawn('ip', ['netns', 'exec', nsName, 'sleep', '3600'], { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    // `ip netns exec` execs sleep in the same process once it has entered the namespace.
    await waitFor(
      async () => {
        const { stdout } = await runCommand(['readlink', `/proc/${pid}/exe`]).catch(() => ({
          stdout: '',
        }));
        return stdout.trim().endsWith('sleep');
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const container = { name, ns, pid, process: child };
    this.containers.push(container);
    writeFileSync(join(this.helper.dir, 'containers', name), `${pid}\n`);
    return container;
  }

  /** Makes `name` answer as a stopped container (PID 0), as docker does. */
  stoppedContainer(name: string): void {
    writeFileSync(join(this.helper.dir, 'containers', name), '0\n');
  }

  /** Names of links in the helper namespace that either tool made (`…_l`, `…_c`). */
  async vethsInHelper(): Promise<string[]> {
    const links = JSON.parse((await this.helper.ns.ip(['-j', 'link', 'show'])).stdout) as {
      ifname: string;
    }[];
    return links.map((l) => l.ifname).filter((n) => /_[lc]$/.test(n));
  }

  async stop(): Promise<void> {
    for (const c of this.containers) {
      c.process.kill('SIGKILL');
      await c.ns.delete().catch(() => undefined);
    }
    await this.helper.stop();
  }
}

/** Entries under /var/run/netns that neither suite's namespaces explain (links a tool left). */
export function netnsLinks(): string[] {
  try {
    return readdirSync('/var/run/netns').filter((n) => /^(\d+|ovs-docker-.*)$/.test(n));
  } catch {
    return [];
  }
}

/** One interface of a container as OVSDB has it: bridge, ids, VLAN tag. */
export interface PortRow {
  iface: string;
  bridge: string;
  externalIds: Record<string, string>;
  tag: number | null;
}

/**
 * The ports of `containerId`, sorted by container interface. Read again when
 * a port went away between the reads (a watcher may be removing it).
 */
export async function portRows(world: OvsDockerWorld, containerId: string): Promise<PortRow[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readPortRows(world, containerId);
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

async function readPortRows(world: OvsDockerWorld, containerId: string): Promise<PortRow[]> {
  const out = await world.vsctl(
    '--format=json',
    '--columns=name,external_ids',
    'find',
    'Interface',
    `external_ids:container_id=${JSON.stringify(containerId)}`,
  );
  const table = JSON.parse(out) as { data: [string, ['map', [string, string][]]][] };
  const rows: PortRow[] = [];
  for (const [name, [, pairs]] of table.data) {
    const externalIds = Object.fromEntries(pairs);
    const bridge = (await world.vsctl('port-to-br', name)).trim();
    const tagText = (await world.vsctl('get', 'Port', name, 'tag')).trim();
    rows.push({
      iface: externalIds.container_iface ?? '',
      bridge,
      externalIds,
      tag: tagText === '[]' ? null : Number(tagText),
    });
  }
  return rows.sort((a, b) => a.iface.localeCompare(b.iface));
}

/** A container-side interface: name, MTU, MAC, addresses (no link-local), state. */
export interface ContainerIface {
  ifname: string;
  mtu: number;
  mac: string;
  up: boolean;
  addresses: string[];
}

/** What the container sees: its interfaces other than lo, and its default route. */
export async function containerSide(
  ns: NetworkNamespace,
): Promise<{ ifaces: ContainerIface[]; defaultRoute: string[] }> {
  const links = JSON.parse((await ns.ip(['-j', 'addr', 'show'])).stdout) as {
    ifname: string;
    mtu: number;
    address: string;
    flags: string[];
    addr_info: { local: string; prefixlen: number; scope: string }[];
  }[];
  const routes = JSON.parse((await ns.ip(['-j', 'route', 'show', 'default'])).stdout) as {
    gateway?: string;
    dev: string;
  }[];
  return {
    ifaces: links
      .filter((l) => l.ifname !== 'lo')
      .map((l) => ({
        ifname: l.ifname,
        mtu: l.mtu,
        mac: l.address,
        up: l.flags.includes('UP'),
        addresses: l.addr_info
          .filter((a) => a.scope !== 'link')
          .map((a) => `${a.local}/${a.prefixlen}`),
      }))
      .sort((a, b) => a.ifname.localeCompare(b.ifname)),
    defaultRoute: routes.map((r) => `via ${r.gateway ?? '-'} dev ${r.dev}`),
  };
}

/** `arca-net ovs-docker watch --config=FILE` inside the world's helper namespace, its output in `logFile`. */
export class WatcherProcess {
  private constructor(private readonly child: ChildProcess) {}

  static start(world: OvsDockerWorld, configFile: string, logFile: string): WatcherProcess {
    const out = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        world.helper.ns.name,
        process.execPath,
        CLI_MAIN,
        'ovs-docker',
        'watch',
        `--config=${configFile}`,
      ],
      {
        env: world.env({ ARCA_NET_LOG_FORMAT: 'json', ARCA_NET_LOG_LEVEL: 'debug' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    return new WatcherProcess(child);
  }

  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    const exited = new Promise<number | null>((resolve) =>
      this.child.once('exit', (code) => resolve(code)),
    );
    this.child.kill('SIGTERM');
    return exited;
  }
}

/** The watcher's counters, fetched from inside the helper namespace. */
export async function watcherMetrics(
  world: OvsDockerWorld,
  address: string,
): Promise<Record<string, number>> {
  const script = `fetch('http://${address}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await world.helper.ns.run([process.execPath, '-e', script]);
  const values: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = /^arca_net_ovs_docker_(\w+)_total (\d+)$/.exec(line);
    if (m) values[m[1] as string] = Number(m[2]);
  }
  return values;
}

/** Polls until the ports of `containerId` are `ifaces` (bounded); the error shows the log's end. */
export async function portsBecome(
  world: OvsDockerWorld,
  containerId: string,
  ifaces: string[],
  logFile: string,
): Promise<void> {
  const want = JSON.stringify(ifaces);
  const ok = await waitFor(
    async () => JSON.stringify((await portRows(world, containerId)).map((r) => r.iface)) === want,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  if (!ok) {
    const rows = await portRows(world, containerId);
    throw new Error(
      `ports of ${containerId}: ${JSON.stringify(rows)} (wanted ${want}); log:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
    );
  }
}
