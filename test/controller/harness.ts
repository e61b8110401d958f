/**
 * Helpers of the controller's integration tests: a helper "VM" (a network
 * namespace running OVS + OVN through helpervm/startup.sh), container
 * namespaces, the controller and its gRPC client, and NB database dumps.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttachmentLink,
  type Controller,
  connectController,
  type DataPath,
  type EndpointRecord,
  startController,
} from '../../packages/controller/dist/index.js';
import { NetworkNamespace, runCommand } from '../../packages/lab/dist/index.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const startupScript = join(repoRoot, 'helpervm/startup.sh');

/** The gRPC status code a call ended with ('OK' on success); `onMessage` gets the error's details. */
export async function statusOf(
  promise: Promise<unknown>,
  onMessage?: (message: string) => void,
): Promise<number | 'OK'> {
  try {
    await promise;
    return 'OK';
  } catch (err) {
    const { code, details } = err as { code?: unknown; details?: unknown };
    if (typeof code === 'number') {
      onMessage?.(typeof details === 'string' ? details : String(err));
      return code;
    }
    throw err;
  }
}

/** Whether `count` pings from `ns` to `ip` get an answer (1 s wait each). */
export async function reaches(ns: NetworkNamespace, ip: string, count = 2): Promise<boolean> {
  const result = await ns.ping(ip, { count, intervalSeconds: 0.2, waitSeconds: 1 });
  return result.received > 0;
}

/** OVS + OVN of one helper, started by helpervm/startup.sh inside its own namespace. */
export class HelperOvn {
  private constructor(
    readonly ns: NetworkNamespace,
    readonly dir: string,
    private readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {}

  get runDir(): string {
    return join(this.dir, 'run');
  }
  get env(): NodeJS.ProcessEnv {
    return {
      ARCA_HELPER_STATE: join(this.dir, 'state'),
      ARCA_HELPER_RUN: this.runDir,
      ARCA_HELPER_TIMEOUT: '30',
      ...this.extraEnv,
    };
  }
  get ovn() {
    return {
      nbSock: join(this.runDir, 'ovnnb_db.sock'),
      sbSock: join(this.runDir, 'ovnsb_db.sock'),
      ovsSock: join(this.runDir, 'ovs.sock'),
      runDir: this.runDir,
    };
  }

  /**
   * Starts OVS and OVN in a new namespace `name`. `env` adds startup.sh
   * variables (e.g. ARCA_HELPER_UPLINK); `prepare` runs in between, e.g. to
   * move the uplink interface into the namespace.
   */
  static async start(
    name: string,
    options: { env?: NodeJS.ProcessEnv; prepare?: (ns: NetworkNamespace) => Promise<void> } = {},
  ): Promise<HelperOvn> {
    const ns = await NetworkNamespace.create(name);
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    const helper = new HelperOvn(ns, dir, options.env);
    try {
      await options.prepare?.(ns);
      await helper.script('start');
    } catch (err) {
      await helper.stop();
      throw err;
    }
    return helper;
  }

  /** Runs startup.sh with a subcommand inside the helper namespace. */
  async script(command: 'start' | 'stop' | 'status'): Promise<string> {
    const env = { ...process.env, ...this.env };
    return (await this.ns.run([startupScript, command], { env, timeoutMs: 120_000 })).stdout;
  }

  async nbctl(...args: string[]): Promise<string> {
    return (await runCommand(['ovn-nbctl', `--db=unix:${this.ovn.nbSock}`, ...args])).stdout;
  }
  /** Waits until every chassis has applied the northbound database as it is now (the event a policy test waits on). */
  async applied(): Promise<void> {
    await this.nbctl('--timeout=30', '--wait=hv', 'sync');
  }
  async sbctl(...args: string[]): Promise<string> {
    return (await runCommand(['ovn-sbctl', `--db=unix:${this.ovn.sbSock}`, ...args])).stdout;
  }
  async vsctl(...args: string[]): Promise<string> {
    return (await runCommand(['ovs-vsctl', `--db=unix:${this.ovn.ovsSock}`, ...args])).stdout;
  }

  /** `ovn-nbctl show` plus a JSON list of every NB table: equal dumps mean an unchanged database. */
  async nbDump(): Promise<string> {
    const tables = [
      'Logical_Switch',
      'Logical_Switch_Port',
      'Logical_Router',
      'Logical_Router_Port',
      'DHCP_Options',
      'DNS',
      'ACL',
      'Load_Balancer',
      'NAT',
      'Logical_Router_Static_Route',
      'Gateway_Chassis',
    ];
    const parts = [await this.nbctl('show')];
    for (const t of tables) parts.push(await this.nbctl('--format=json', 'list', t));
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    await this.ns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A data path that FAKES the helper relay with a veth pair (used where the
 * relay is not under test): the helper end, named like the relay's TAP, is
 * what the controller plugs into br-int; the other end is `eth<N>` of the
 * container's namespace with the attachment's MAC. Containers must be
 * registered with {@link VethDataPath.place} first.
 */
export class VethDataPath implements DataPath {
  private readonly containers = new Map<string, NetworkNamespace>();
  constructor(private readonly helper: HelperOvn) {}

  /** The namespace that plays container `containerId` (its interface on a network is eth<N>). */
  place(containerId: string, ns: NetworkNamespace): void {
    this.containers.set(containerId, ns);
  }

  async open(ep: EndpointRecord): Promise<AttachmentLink> {
    const ns = this.containers.get(ep.containerId);
    if (!ns) throw new Error(`test placed no namespace for container ${ep.containerId}`);
    const peer = VethDataPath.containerIface(ep.portName);
    const helper = this.helper.ns;
    await helper.ip(['link', 'del', ep.portName]).catch(() => undefined);
    await helper.ip([
      ...['link', 'add', ep.portName, 'type', 'veth'],
      ...['peer', 'name', peer, 'netns', ns.name],
    ]);
    await ns.ip(['link', 'set', peer, 'address', ep.mac, 'up']);
    // OVS's userspace datapath forwards what it reads; a veth's partial checksums would arrive broken.
    await ns.run(['ethtool', '-K', peer, 'tx', 'off']);
    await helper.ip(['link', 'set', ep.portName, 'up']);
    return {
      connections: 0,
      connected: true,
      stats: () => ({
        toStream: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
        toTap: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
      }),
      async close() {
        await helper.ip(['link', 'del', ep.portName]).catch(() => undefined);
      },
    };
  }

  /** The container-side interface name of an attachment. */
  static containerIface(portName: string): string {
    return `e${portName.slice(2, 12)}`;
  }
}

/** A controller started in this process with the veth data path, and its gRPC client. */
export interface TestController {
  controller: Controller;
  client: ReturnType<typeof connectController>['client'];
  close(): Promise<void>;
}

export async function startTestController(
  helper: HelperOvn,
  dataPath: DataPath,
  grpcDir: string,
  uplink?: { cidr: string; gateway: string },
): Promise<TestController> {
  const controller = await startController({
    listen: `unixdir:${grpcDir}`,
    ovn: helper.ovn,
    dataPath,
    // The controller runs in the test's namespace, not the helper's: no per-network resolvers.
    resolvers: false,
    ...(uplink ? { uplink } : {}),
  });
  const { client, close } = connectController(controller.grpcSocketPath);
  return {
    controller,
    client,
    async close() {
      close();
      await controller.close();
    },
  };
}
