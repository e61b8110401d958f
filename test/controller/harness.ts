/**
 * Helpers of the controller's integration tests: a helper "VM" (a network
 * namespace running OVS + OVN through helpervm/startup.sh), container
 * namespaces, the controller and its gRPC client, and NB database dumps.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type AttachmentLink,
  type Controller,
  connectController,
  type DataPath,
  type EndpointRecord,
  startController,
} from '../../packages/controller/dist/index.js';

const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const startupScript = join(repoRoot, 'helpervm/startup.sh');

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
export async function run(
  file: string,
  args: string[],
  options: { timeout?: number; env?: NodeJS.ProcessEnv; withStderr?: boolean } = {},
): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      timeout: options.timeout ?? 30_000,
      encoding: 'utf8',
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    return options.withStderr ? stdout + stderr : stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/** A unique short suffix for names of this test file. */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36).slice(-3)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
}

/** A network namespace created by a test (prefix `anc`). */
export class Netns {
  private constructor(readonly name: string) {}

  static async create(name: string): Promise<Netns> {
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return new Netns(name);
  }

  exec(file: string, args: string[], timeout?: number): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, file, ...args], { timeout });
  }

  /** Like {@link exec}, with stderr appended to the output (busybox tools report there). */
  execAll(file: string, args: string[], timeout?: number): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, file, ...args], { timeout, withStderr: true });
  }

  /** Whether `count` pings to `ip` get answers (1 s deadline each). */
  async ping(ip: string, count = 2): Promise<boolean> {
    return this.exec('ping', ['-c', String(count), '-W', '1', '-i', '0.2', ip], 15_000).then(
      () => true,
      () => false,
    );
  }

  async delete(): Promise<void> {
    await run('ip', ['netns', 'delete', this.name]).catch(() => undefined);
  }
}

/** OVS + OVN of one helper, started by helpervm/startup.sh inside its own namespace. */
export class HelperOvn {
  private constructor(
    readonly ns: Netns,
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
    options: { env?: NodeJS.ProcessEnv; prepare?: (ns: Netns) => Promise<void> } = {},
  ): Promise<HelperOvn> {
    const ns = await Netns.create(name);
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
  script(command: 'start' | 'stop' | 'status'): Promise<string> {
    return run('ip', ['netns', 'exec', this.ns.name, startupScript, command], {
      env: this.env,
      timeout: 120_000,
    });
  }

  nbctl(...args: string[]): Promise<string> {
    return run('ovn-nbctl', [`--db=unix:${this.ovn.nbSock}`, ...args]);
  }
  sbctl(...args: string[]): Promise<string> {
    return run('ovn-sbctl', [`--db=unix:${this.ovn.sbSock}`, ...args]);
  }
  vsctl(...args: string[]): Promise<string> {
    return run('ovs-vsctl', [`--db=unix:${this.ovn.ovsSock}`, ...args]);
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
  private readonly containers = new Map<string, Netns>();
  constructor(private readonly helper: HelperOvn) {}

  /** The namespace that plays container `containerId` (its interface on a network is eth<N>). */
  place(containerId: string, ns: Netns): void {
    this.containers.set(containerId, ns);
  }

  async open(ep: EndpointRecord): Promise<AttachmentLink> {
    const ns = this.containers.get(ep.containerId);
    if (!ns) throw new Error(`test placed no namespace for container ${ep.containerId}`);
    const peer = VethDataPath.containerIface(ep.portName);
    await run('ip', ['-n', this.helper.ns.name, 'link', 'del', ep.portName]).catch(() => undefined);
    await run('ip', [
      '-n',
      this.helper.ns.name,
      'link',
      'add',
      ep.portName,
      'type',
      'veth',
      'peer',
      'name',
      peer,
      'netns',
      ns.name,
    ]);
    await run('ip', ['-n', ns.name, 'link', 'set', peer, 'address', ep.mac, 'up']);
    // OVS's userspace datapath forwards what it reads; a veth's partial checksums would arrive broken.
    await ns.exec('ethtool', ['-K', peer, 'tx', 'off']);
    await run('ip', ['-n', this.helper.ns.name, 'link', 'set', ep.portName, 'up']);
    const helperNs = this.helper.ns.name;
    return {
      connections: 0,
      connected: true,
      stats: () => ({
        toStream: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
        toTap: { frames: 0, bytes: 0, drops: 0, protocolErrors: 0 },
      }),
      async close() {
        await run('ip', ['-n', helperNs, 'link', 'del', ep.portName]).catch(() => undefined);
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
