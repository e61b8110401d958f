/**
 * The helper-VM test image in a private Docker engine: dockerd (test/ovs-docker/dockerd.ts)
 * in a network namespace of its own, `helpervm/image.sh test` building
 * arca-net/helpervm:test in it (debootstrap root fs cached between runs), and
 * containers of that image started by testcontainers with their state
 * directory and the controller's unixdir bind-mounted from the host.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';
import { NetworkNamespace, runCommand } from '../../packages/lab/dist/index.js';
import { PrivateDockerd } from '../ovs-docker/dockerd.js';

export const TEST_IMAGE = 'arca-net/helpervm:test';
const repo = fileURLToPath(new URL('../../', import.meta.url));
/** Inside the image: where startup.sh keeps sockets and where the test mounts the controller's unixdir. */
const HELPER_RUN = '/run/arca-net-helper';
const CONTROLLER_DIR = '/run/arca-net-controller';

/** overlay2 where the data root's file system takes it (ext4, xfs), else vfs. */
async function storageDriverFor(dir: string): Promise<string> {
  const fsType = (await runCommand(['stat', '-f', '-c', '%T', dir])).stdout.trim();
  const overlay = readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n');
  return overlay && ['ext2/ext3', 'xfs'].includes(fsType) ? 'overlay2' : 'vfs';
}

/**
 * `helpervm/image.sh test` against the engine at `host`, its progress (debootstrap's
 * steps on a machine without the cached root fs: a minute or two) on this stderr.
 */
function buildTestImage(host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repo, 'helpervm/image.sh'), ['test'], {
      env: { ...process.env, DOCKER_HOST: host },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 900_000,
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`helpervm/image.sh test: exit ${code ?? signal}`)),
    );
  });
}

/** A private dockerd with the test image built in it. */
export class ImageWorld {
  private constructor(
    readonly dir: string,
    readonly ns: NetworkNamespace,
    readonly dockerd: PrivateDockerd,
  ) {}

  /** Namespace, dockerd, bundle, image; `dir` holds everything (and is removed by {@link stop}). */
  static async start(dir: string, name: string): Promise<ImageWorld> {
    mkdirSync(dir, { recursive: true });
    const ns = await NetworkNamespace.create(name);
    const dockerd = new PrivateDockerd(join(dir, 'docker'), name, name, {
      storageDriver: await storageDriverFor(dir),
    });
    const world = new ImageWorld(dir, ns, dockerd);
    try {
      await dockerd.start();
      await runCommand(['node', join(repo, 'helpervm/build.mjs')]);
      await buildTestImage(dockerd.host);
    } catch (error) {
      await world.stop();
      throw error;
    }
    // testcontainers reads these on first use.
    process.env.DOCKER_HOST = dockerd.host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    // Its host lookup inspects Docker's `bridge` network, which this engine does not have.
    process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
    return world;
  }

  /** The host directory bind-mounted as the image's state volume. */
  get stateDir(): string {
    return join(this.dir, 'state');
  }
  /** The host directory the controller listens in (gRPC on 9999.sock). */
  get controllerDir(): string {
    return join(this.dir, 'controller');
  }
  get grpcSocket(): string {
    return join(this.controllerDir, '9999.sock');
  }

  /**
   * Starts a helper container on the state directory and waits for Docker's
   * health check (the controller's grpc.health.v1 SERVING). The privileges OVS
   * needs: NET_ADMIN (links, addresses, routes) and /dev/net/tun (the
   * userspace datapath's TAP ports). Not `--privileged`: that asks for every
   * capability, more than a machine whose bounding set lacks one can give.
   */
  async startHelper(name: string): Promise<StartedTestContainer> {
    const { GenericContainer, Wait } = await import('testcontainers');
    /** testcontainers has no `withDevices`: the device goes into the host config directly. */
    class HelperContainer extends GenericContainer {
      constructor(image: string) {
        super(image);
        this.hostConfig.Devices = [
          { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' },
        ];
      }
    }
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(this.controllerDir, { recursive: true });
    return new HelperContainer(TEST_IMAGE)
      .withName(name)
      .withNetworkMode('none')
      .withAddedCapabilities('NET_ADMIN')
      .withEnvironment({ ARCA_CONTROLLER_LISTEN: `unixdir:${CONTROLLER_DIR}` })
      .withBindMounts([
        { source: this.stateDir, target: '/var/lib/arca-net-helper', mode: 'rw' },
        { source: this.controllerDir, target: CONTROLLER_DIR, mode: 'rw' },
      ])
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(120_000)
      .start();
  }

  /** `docker logs` of a container: its stdout and stderr (startup.sh logs to stderr). */
  async logs(id: string): Promise<string> {
    const { stdout, stderr } = await runCommand([
      'docker',
      `--host=${this.dockerd.host}`,
      'logs',
      id,
    ]);
    return stdout + stderr;
  }

  async stop(): Promise<void> {
    await this.dockerd.destroy();
    await this.ns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `ovn-nbctl` (or `ovn-sbctl`, `ovs-vsctl`) inside the helper container, on its sockets. */
export async function helperCtl(
  container: StartedTestContainer,
  tool: 'ovn-nbctl' | 'ovn-sbctl' | 'ovs-vsctl',
  ...args: string[]
): Promise<string> {
  const sock = { 'ovn-nbctl': 'ovnnb_db', 'ovn-sbctl': 'ovnsb_db', 'ovs-vsctl': 'ovs' }[tool];
  const result = await container.exec([tool, `--db=unix:${HELPER_RUN}/${sock}.sock`, ...args]);
  if (result.exitCode !== 0) {
    throw new Error(`${tool} ${args.join(' ')}: exit ${result.exitCode}: ${result.output}`);
  }
  return result.stdout;
}
