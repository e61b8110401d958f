/**
 * A private Docker engine for the suite: Debian's `dockerd` (docker.io, from
 * `make setup`) with its own data root, exec root, pidfile, socket and
 * containerd namespace, started inside a network namespace with
 * `nsenter --net=…` (`ip netns exec` fails for dockerd with "Devices cgroup
 * isn't mounted"); by default no bridge, no iptables, the vfs storage driver. Its only
 * image is a busybox root file system made from busybox-static and `docker
 * import`ed (nothing is pulled).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  processAlive,
  processCommandLine,
  readPidfile,
  runCommand,
  stopProcess,
  waitFor,
} from '../../packages/lab/dist/index.js';

export const BUSYBOX_IMAGE = 'arca-net-ovs-docker-busybox:test';

export interface PrivateDockerdOptions {
  /** `vfs` (works on any file system, the default) or, where the data root allows it, `overlay2` (fast). */
  readonly storageDriver?: string;
  /** dockerd's network flags; default `--bridge=none` (test/conformance gives it a bridge of its own). */
  readonly networkArgs?: readonly string[];
  /**
   * Let dockerd manage iptables (NAT, isolation between networks, published
   * ports). Its rules stay in its own network namespace. Default off.
   */
  readonly iptables?: boolean;
  /** `--dns` servers for containers (and the embedded resolver's upstream). */
  readonly dns?: readonly string[];
}

export class PrivateDockerd {
  private child: ChildProcess | undefined;

  constructor(
    readonly dir: string,
    /** Network namespace (a name under /var/run/netns) dockerd runs in. */
    readonly namespace: string,
    readonly tag: string,
    readonly options: PrivateDockerdOptions = {},
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get socket(): string {
    return join(this.dir, 'docker.sock');
  }
  get host(): string {
    return `unix://${this.socket}`;
  }

  /** Starts dockerd and waits until it answers `docker version`. */
  async start(): Promise<void> {
    const log = createWriteStream(join(this.dir, 'dockerd.log'), { flags: 'a' });
    this.child = spawn(
      'nsenter',
      [
        `--net=/var/run/netns/${this.namespace}`,
        'dockerd',
        `--data-root=${join(this.dir, 'data')}`,
        `--exec-root=${join(this.dir, 'exec')}`,
        `--pidfile=${join(this.dir, 'docker.pid')}`,
        `--host=${this.host}`,
        ...(this.options.networkArgs ?? ['--bridge=none']),
        ...(this.options.iptables ? [] : ['--iptables=false']),
        ...(this.options.dns ?? []).map((server) => `--dns=${server}`),
        '--ip6tables=false',
        `--storage-driver=${this.options.storageDriver ?? 'vfs'}`,
        `--containerd-namespace=${this.tag}`,
        `--containerd-plugins-namespace=${this.tag}p`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const pid = this.child.pid ?? 0;
    const ready = await waitFor(
      async () =>
        !(await processAlive(pid)) ||
        (await this.docker(['version']).then(
          () => true,
          () => false,
        )),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    if (!ready || !(await processAlive(pid))) {
      throw new Error(`dockerd did not start (log: ${join(this.dir, 'dockerd.log')})`);
    }
  }

  /** Stops dockerd (SIGTERM; it stops its containers first). */
  async stop(): Promise<void> {
    const pid = this.child?.pid;
    this.child = undefined;
    if (pid !== undefined) await stopProcess(pid, 30_000);
  }

  /** Runs the docker CLI against this engine. */
  docker(args: readonly string[]): Promise<{ stdout: string }> {
    return runCommand(['docker', `--host=${this.host}`, ...args], { timeoutMs: 60_000 });
  }

  /**
   * Imports a busybox root file system (from /bin/busybox) as {@link BUSYBOX_IMAGE};
   * `extra` adds static programs (absolute path in the image → file on the host).
   */
  async importBusybox(
    busybox = '/bin/busybox',
    extra: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    const root = join(this.dir, 'rootfs');
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    for (const [inImage, file] of Object.entries(extra)) {
      mkdirSync(join(root, dirname(inImage)), { recursive: true });
      copyFileSync(file, join(root, inImage));
      chmodSync(join(root, inImage), 0o755);
    }
    for (const applet of ['sh', 'sleep', 'ip', 'ping', 'cat']) {
      symlinkSync('busybox', join(root, 'bin', applet));
    }
    const tar = join(this.dir, 'rootfs.tar');
    await runCommand(['tar', '-C', root, '-cf', tar, '.']);
    await this.docker(['import', tar, BUSYBOX_IMAGE]);
  }

  /**
   * Removes every container, stops dockerd (also one whose start failed half-way, by its
   * pidfile), unmounts what it left mounted under its directory, deletes its files.
   */
  async destroy(): Promise<void> {
    const ids = (await this.docker(['ps', '-aq']).catch(() => ({ stdout: '' }))).stdout
      .split('\n')
      .filter((id) => id !== '');
    if (ids.length > 0) await this.docker(['rm', '-f', ...ids]).catch(() => undefined);
    await this.stop();
    const pid = await readPidfile(join(this.dir, 'docker.pid'));
    if (pid !== undefined && (await processCommandLine(pid)).includes(this.dir)) {
      await stopProcess(pid, 30_000);
    }
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[1] ?? '')
      .filter((path) => path.startsWith(`${this.dir}/`))
      .sort()
      .reverse();
    for (const path of mounts) await runCommand(['umount', '-l', path]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
