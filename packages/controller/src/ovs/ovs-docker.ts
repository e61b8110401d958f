/**
 * `ovs-docker add-port|del-port|del-ports|set-vlan` on the OVS port layer:
 * the OVSDB contract of Open vSwitch's `ovs-docker` script (a veth pair, the
 * host side `<stem>_l` on the bridge with `external_ids:container_id` and
 * `container_iface`, the container side `<stem>_c` moved into the container's
 * namespace found by `docker inspect -f '{{.State.Pid}}'` and renamed), its
 * messages and exit codes. Differences (docs/ovs-docker.md): names come from
 * the container id, so runs are idempotent; arguments are checked first;
 * every step is undone when a later one fails; failures never exit 0.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { OvnError } from '../ovn/errors.js';
import { ToolError, type ToolRunner } from '../ovn/exec.js';
import { Vsctl } from '../ovn/vsctl.js';
import { OvsPorts } from './ports.js';
import {
  addressProblem,
  bridgeNameProblem,
  gatewayProblem,
  interfaceNameProblem,
  macProblem,
  mtuProblem,
  vlanProblem,
} from './validate.js';

/** The utility name in every message, as the script prints `$(basename $0)`. */
export const UTIL = 'ovs-docker';

/** A failed command: the lines it prints on stderr and its exit code (the script's: 1). */
export class OvsDockerError extends Error {
  override readonly name = 'OvsDockerError';
  constructor(
    readonly lines: readonly string[],
    readonly exitCode = 1,
  ) {
    super(lines.join('\n'));
  }
}

/** The database `ovs-vsctl` uses without `--db`: `unix:$OVS_RUNDIR/db.sock`. */
export function defaultOvsdb(env: NodeJS.ProcessEnv = process.env): string {
  return `unix:${env.OVS_RUNDIR || '/var/run/openvswitch'}/db.sock`;
}

/** Where {@link OvsDocker} runs its tools and finds things. */
export interface OvsDockerOptions {
  /** Runs ovs-vsctl, ip and docker. */
  run: ToolRunner;
  /** OVSDB (default {@link defaultOvsdb}). */
  db?: string;
  /** Where the container's namespace is linked while it is configured (default /var/run/netns). */
  netnsDir?: string;
  /** Stops between steps (then everything made is undone). */
  signal?: AbortSignal;
  /**
   * The PID of a container's process (the watcher asks the Engine API);
   * default `docker inspect -f '{{.State.Pid}}' CONTAINER`, as the script.
   */
  containerPid?: (container: string) => Promise<number>;
}

/** add-port's options (the script's `--ipaddress=` … `--mtu=`); empty ones are ignored as the script does. */
export interface AddPortOptions {
  ipaddress?: string;
  macaddress?: string;
  gateway?: string;
  mtu?: string;
}

const STEM_ALPHABET = '0123456789abcdefghijklmnopqrstuv';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The 13-character stem of a port's names (`<stem>_l`, `<stem>_c`: 15 bytes,
 * as the script's): the first 12 hex characters of the container id (of the
 * SHA-256 of CONTAINER when it is a name, not an id), then one character from
 * the interface name, moved on by `attempt` when another port has taken it.
 */
export function portStem(container: string, iface: string, attempt = 0): string {
  const id = /^[0-9a-f]{12,}$/i.test(container)
    ? container.slice(0, 12).toLowerCase()
    : sha256(container).toString('hex').slice(0, 12);
  const index = ((sha256(iface)[0] ?? 0) + attempt) % STEM_ALPHABET.length;
  return `${id}${STEM_ALPHABET[index]}`;
}

function stderrLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

/** The lines a tool printed when it failed (what the script lets through to stderr). */
function toolLines(error: unknown): string[] {
  const cause = error instanceof OvnError ? error.cause : error;
  if (cause instanceof ToolError) {
    const lines = stderrLines(cause.stderr);
    return lines.length > 0 ? lines : [`${UTIL}: ${cause.message}`];
  }
  return [`${UTIL}: ${error instanceof Error ? error.message : String(error)}`];
}

function check(what: string, value: string, problem: string | undefined): void {
  if (problem) throw new OvsDockerError([`${UTIL}: invalid ${what} "${value}": ${problem}`]);
}

/** The four commands of the script. */
export class OvsDocker {
  readonly ports: OvsPorts;
  private readonly run: ToolRunner;
  private readonly netnsDir: string;
  private readonly signal: AbortSignal | undefined;
  private readonly pidOf: ((container: string) => Promise<number>) | undefined;

  constructor(options: OvsDockerOptions) {
    this.run = options.run;
    this.pidOf = options.containerPid;
    // The script's ovs-vsctl --timeout=60.
    this.ports = new OvsPorts(
      new Vsctl(options.run, { db: options.db ?? defaultOvsdb(), timeoutMs: 61_000 }),
    );
    this.netnsDir = options.netnsDir ?? '/var/run/netns';
    this.signal = options.signal;
  }

  /** `add-port BRIDGE INTERFACE CONTAINER [options]`; resolves with the host-side port name. */
  async addPort(
    bridge: string,
    iface: string,
    container: string,
    options: AddPortOptions = {},
  ): Promise<string> {
    check('bridge name', bridge, bridgeNameProblem(bridge));
    check('interface name', iface, interfaceNameProblem(iface));
    if (options.ipaddress) check('address', options.ipaddress, addressProblem(options.ipaddress));
    if (options.macaddress) {
      check('MAC address', options.macaddress, macProblem(options.macaddress));
    }
    if (options.gateway) check('gateway', options.gateway, gatewayProblem(options.gateway));
    if (options.mtu) check('MTU', options.mtu, mtuProblem(options.mtu));

    const attached = await this.ovs(() => this.ports.find(container, iface));
    if (attached.length > 0) {
      throw new OvsDockerError([
        `${UTIL}: Port already attached for CONTAINER=${container} and INTERFACE=${iface}`,
      ]);
    }
    const pid = await this.containerPid(container);
    const createBridge = !(await this.ovs(() => this.ports.bridgeExists(bridge)));
    const stem = await this.freeStem(container, iface);
    const [host, peer] = [`${stem}_l`, `${stem}_c`];

    const undo: (() => Promise<unknown>)[] = [];
    const link = await this.linkNamespace(pid);
    try {
      this.signal?.throwIfAborted();
      await this.ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
      undo.push(() => this.ip(['link', 'delete', host]));
      try {
        await this.ports.add(
          bridge,
          host,
          { containerId: container, containerIface: iface },
          {
            createBridge,
          },
        );
      } catch (error) {
        throw new OvsDockerError([
          ...toolLines(error),
          `${UTIL}: Failed to add ${host} port to bridge ${bridge}`,
        ]);
      }
      undo.push(() => this.ports.remove(host));
      if (createBridge) undo.push(() => this.ports.removeBridge(bridge));
      const steps: string[][] = [
        ['link', 'set', host, 'up'],
        ['link', 'set', peer, 'netns', link.name],
        ['-n', link.name, 'link', 'set', 'dev', peer, 'name', iface],
        ['-n', link.name, 'link', 'set', iface, 'up'],
      ];
      if (options.mtu)
        steps.push(['-n', link.name, 'link', 'set', 'dev', iface, 'mtu', options.mtu]);
      if (options.ipaddress) {
        steps.push(['-n', link.name, 'addr', 'add', options.ipaddress, 'dev', iface]);
      }
      if (options.macaddress) {
        steps.push(['-n', link.name, 'link', 'set', 'dev', iface, 'address', options.macaddress]);
      }
      if (options.gateway) {
        steps.push(['-n', link.name, 'route', 'add', 'default', 'via', options.gateway]);
      }
      for (const step of steps) {
        this.signal?.throwIfAborted();
        try {
          await this.ip(step);
        } catch (error) {
          throw new OvsDockerError([
            ...toolLines(error),
            `${UTIL}: Failed to run 'ip ${step.join(' ')}' for CONTAINER=${container} and INTERFACE=${iface}; the port is removed`,
          ]);
        }
      }
      return host;
    } catch (error) {
      // Undo in reverse; deleting the host side takes the container side with it.
      for (const step of undo.reverse()) await step().catch(() => undefined);
      if (error instanceof OvsDockerError) throw error;
      throw new OvsDockerError(toolLines(error));
    } finally {
      await link.remove();
    }
  }

  /** `del-port BRIDGE INTERFACE CONTAINER` (BRIDGE is not used, as in the script). */
  async delPort(_bridge: string, iface: string, container: string): Promise<string[]> {
    const ports = await this.attached(container, iface);
    for (const port of ports) await this.removePort(port);
    return ports;
  }

  /** `del-ports BRIDGE CONTAINER`: every port of CONTAINER; none is not an error. */
  async delPorts(_bridge: string, container: string): Promise<string[]> {
    const ports = (await this.ovs(() => this.ports.find(container))).map((p) => p.name);
    for (const port of ports) await this.removePort(port);
    return ports;
  }

  /** `set-vlan BRIDGE INTERFACE CONTAINER VLAN`. */
  async setVlan(_bridge: string, iface: string, container: string, vlan: string): Promise<void> {
    const problem = vlanProblem(vlan);
    if (problem) throw new OvsDockerError([`${UTIL}: invalid VLAN: ${problem}`]);
    const ports = await this.attached(container, iface);
    for (const port of ports) await this.ovs(() => this.ports.setTag(port, Number(vlan)));
  }

  /** Names of the ports of CONTAINER's INTERFACE, or the script's failure. */
  private async attached(container: string, iface: string): Promise<string[]> {
    const ports = (await this.ovs(() => this.ports.find(container, iface))).map((p) => p.name);
    if (ports.length === 0) {
      throw new OvsDockerError([
        `${UTIL}: Failed to find any attached port for CONTAINER=${container} and INTERFACE=${iface}`,
      ]);
    }
    return ports;
  }

  /** `--if-exists del-port`, then the veth (already gone with its namespace is fine). */
  private async removePort(port: string): Promise<void> {
    await this.ovs(() => this.ports.remove(port));
    if (await this.linkExists(port)) {
      await this.ip(['link', 'delete', port]).catch((error: unknown) => {
        throw new OvsDockerError(toolLines(error));
      });
    }
  }

  /** Runs an OVSDB read or write; its failure becomes ovs-vsctl's own lines. */
  private async ovs<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new OvsDockerError(toolLines(error));
    }
  }

  private async ip(args: readonly string[]): Promise<void> {
    await this.run('ip', args);
  }

  private async linkExists(name: string): Promise<boolean> {
    try {
      await this.run('ip', ['link', 'show', 'dev', name]);
      return true;
    } catch {
      return false;
    }
  }

  /** `docker inspect -f '{{.State.Pid}}' CONTAINER`, as the script asks it. */
  private async containerPid(container: string): Promise<number> {
    let stdout: string;
    try {
      stdout = this.pidOf
        ? String(await this.pidOf(container))
        : (await this.run('docker', ['inspect', '-f', '{{.State.Pid}}', container])).stdout;
    } catch (error) {
      const lines = error instanceof ToolError ? stderrLines(error.stderr) : toolLines(error);
      throw new OvsDockerError([...lines, `${UTIL}: Failed to get the PID of the container`]);
    }
    const pid = Number(stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) {
      throw new OvsDockerError([
        `${UTIL}: container ${container} is not running (docker inspect gave PID '${stdout.trim()}')`,
        `${UTIL}: Failed to get the PID of the container`,
      ]);
    }
    return pid;
  }

  /**
   * The first stem whose names no other port uses. A host-side veth of that
   * name without an OVSDB row is what an interrupted run left: it is deleted.
   */
  private async freeStem(container: string, iface: string): Promise<string> {
    for (let attempt = 0; attempt < STEM_ALPHABET.length; attempt++) {
      const stem = portStem(container, iface, attempt);
      const row = await this.ovs(() => this.ports.byName(`${stem}_l`));
      if (row) continue;
      for (const name of [`${stem}_l`, `${stem}_c`]) {
        if (await this.linkExists(name)) await this.ip(['link', 'delete', name]);
      }
      return stem;
    }
    throw new OvsDockerError([`${UTIL}: no free port name for CONTAINER=${container}`]);
  }

  /** Links the container's namespace under netnsDir for `ip -n`; `remove` always runs. */
  private async linkNamespace(pid: number): Promise<{ name: string; remove(): Promise<void> }> {
    await mkdir(this.netnsDir, { recursive: true });
    const name = `ovs-docker-${pid}-${process.pid}`;
    const path = join(this.netnsDir, name);
    await rm(path, { force: true });
    await symlink(`/proc/${pid}/ns/net`, path);
    return { name, remove: () => rm(path, { force: true }) };
  }
}
