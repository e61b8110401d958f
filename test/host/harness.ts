/**
 * Helpers of the host backend's integration tests: the real controller as a
 * process inside a helper namespace (OVS + OVN started by
 * helpervm/startup.sh), and real
 * forwarder processes inside container namespaces, all reached through
 * `unixdir:` endpoints as the lab does.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectNetworkControl, connectTapForwarder } from '../../packages/host/dist/index.js';

const execFileAsync = promisify(execFile);
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs a command; resolves with stdout, rejects with stderr in the message. */
export async function run(
  file: string,
  args: string[],
  options: { timeout?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(file, args, {
      timeout: options.timeout ?? 30_000,
      encoding: 'utf8',
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/** A short suffix unique to this test process, for every name a test creates. */
export function uniqueSuffix(): string {
  return `${process.pid.toString(36).slice(-3)}${Math.floor(Math.random() * 36 ** 2).toString(36)}`;
}

/** A network namespace created by a test (prefix `ah`). */
export class Netns {
  private constructor(readonly name: string) {}

  static async create(name: string): Promise<Netns> {
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return new Netns(name);
  }

  exec(file: string, args: string[], timeout?: number): Promise<string> {
    return run('ip', ['netns', 'exec', this.name, file, ...args], { timeout: timeout ?? 30_000 });
  }

  async delete(): Promise<void> {
    await run('ip', ['netns', 'delete', this.name]).catch(() => undefined);
  }
}

/** OVS + OVN of one helper "VM": helpervm/startup.sh inside a namespace of its own. */
export class HelperOvn {
  private constructor(
    readonly ns: Netns,
    readonly dir: string,
  ) {}

  get runDir(): string {
    return join(this.dir, 'run');
  }

  get env(): NodeJS.ProcessEnv {
    return {
      ARCA_HELPER_STATE: join(this.dir, 'state'),
      ARCA_HELPER_RUN: this.runDir,
      ARCA_HELPER_TIMEOUT: '30',
    };
  }

  static async start(name: string): Promise<HelperOvn> {
    const ns = await Netns.create(name);
    const helper = new HelperOvn(ns, mkdtempSync(join(tmpdir(), `${name}-`)));
    try {
      await helper.script('start');
    } catch (err) {
      await helper.stop();
      throw err;
    }
    return helper;
  }

  script(command: 'start' | 'stop'): Promise<string> {
    return run(
      'ip',
      ['netns', 'exec', this.ns.name, join(repoRoot, 'helpervm/startup.sh'), command],
      {
        env: this.env,
        timeout: 120_000,
      },
    );
  }

  async stop(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    await this.ns.delete();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const controllerMain = join(repoRoot, 'packages/controller/dist/main.js');
export const forwarderMain = join(repoRoot, 'packages/forwarder/dist/main.js');

/** A process of ours inside a namespace, with its stderr kept for failure messages. */
export class NsProcess {
  private constructor(
    readonly proc: ChildProcess,
    private readonly output: { text: string },
  ) {}

  static spawn(ns: Netns, argv: string[], env: NodeJS.ProcessEnv = {}): NsProcess {
    const proc = spawn('ip', ['netns', 'exec', ns.name, process.execPath, ...argv], {
      env: { ...process.env, ARCA_NET_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const output = { text: '' };
    proc.stderr?.on('data', (chunk: Buffer) => {
      output.text = (output.text + chunk.toString()).slice(-20_000);
    });
    return new NsProcess(proc, output);
  }

  get stderr(): string {
    return this.output.text;
  }

  /** Waits until grpc.health.v1 of the service in `dir` (port 9999 or 5555) says SERVING. */
  async waitServing(
    dir: string,
    port: 9999 | 5555,
    what: string,
    timeoutMs = 30_000,
  ): Promise<void> {
    const socketPath = join(dir, `${port}.sock`);
    const endpoint = { kind: 'unixdir' as const, dir };
    const policy = { deadlineMs: 1000, retryUnavailableMs: 0 };
    const conn =
      port === 9999
        ? await connectNetworkControl(endpoint, policy)
        : await connectTapForwarder(endpoint, policy);
    const health = conn.health;
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        if (this.proc.exitCode !== null) throw new Error(`${what} exited: ${this.stderr}`);
        if (existsSync(socketPath)) {
          const ok = await health
            .check({ service: '' })
            .then((r) => r.status === 1)
            .catch(() => false);
          if (ok) return;
        }
        if (Date.now() > deadline)
          throw new Error(`${what} did not become healthy: ${this.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await conn.close();
    }
  }

  /** Stops the process with `signal` (SIGKILL = a crash) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Starts the real controller inside the helper namespace, listening on `unixdir:dir`. */
export async function startControllerProcess(helper: HelperOvn, dir: string): Promise<NsProcess> {
  mkdirSync(dir, { recursive: true });
  const proc = NsProcess.spawn(helper.ns, [controllerMain, '--listen', `unixdir:${dir}`], {
    ARCA_OVS_RUNDIR: helper.runDir,
    ARCA_OVN_NB_DB: `unix:${join(helper.runDir, 'ovnnb_db.sock')}`,
    ARCA_OVN_SB_DB: `unix:${join(helper.runDir, 'ovnsb_db.sock')}`,
    ARCA_OVS_DB: `unix:${join(helper.runDir, 'ovs.sock')}`,
  });
  await proc.waitServing(dir, 9999, 'controller');
  return proc;
}

/** Starts a real forwarder inside a container namespace, listening on `unixdir:dir`. */
export async function startForwarderProcess(ns: Netns, dir: string): Promise<NsProcess> {
  mkdirSync(dir, { recursive: true });
  const proc = NsProcess.spawn(ns, [forwarderMain, '--listen', `unixdir:${dir}`]);
  await proc.waitServing(dir, 5555, 'forwarder');
  return proc;
}

/** A NetworkControl client for asserting the helper's view. */
export function helperClient(dir: string) {
  return connectNetworkControl({ kind: 'unixdir', dir });
}
