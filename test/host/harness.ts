/**
 * Helpers of the host backend's integration tests: the real controller as a
 * process inside a helper namespace (OVS + OVN started by
 * helpervm/startup.sh, through the controller suite's HelperOvn), and real
 * forwarder processes inside container namespaces (the forwarder suite's
 * startForwarderProcess), all reached through `unixdir:` endpoints as the lab does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectNetworkControl } from '../../packages/host/dist/index.js';
import { inNamespace, type NetworkNamespace } from '../../packages/lab/dist/index.js';
import { type HelperOvn, repoRoot } from '../controller/harness.js';

export { HelperOvn, reaches } from '../controller/harness.js';
export { type ForwarderProcess, startForwarderProcess } from '../forwarder/harness.js';

export const controllerMain = join(repoRoot, 'packages/controller/dist/main.js');

/** A process of ours inside a namespace, with its stderr kept for failure messages. */
export class NsProcess {
  private constructor(
    readonly proc: ChildProcess,
    private readonly output: { text: string },
  ) {}

  static spawn(ns: NetworkNamespace, argv: string[], env: NodeJS.ProcessEnv = {}): NsProcess {
    const [file, ...args] = inNamespace(ns.name, [process.execPath, ...argv]);
    const proc = spawn(file ?? 'ip', args, {
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

  /** Waits until grpc.health.v1 of the controller in `dir` (`9999.sock`) says SERVING. */
  async waitServing(dir: string, what: string, timeoutMs = 30_000): Promise<void> {
    const socketPath = join(dir, '9999.sock');
    const policy = { deadlineMs: 1000, retryUnavailableMs: 0 };
    const conn = await connectNetworkControl({ kind: 'unixdir', dir }, policy);
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
  await proc.waitServing(dir, 'controller');
  return proc;
}

/** A NetworkControl client for asserting the helper's view. */
export function helperClient(dir: string) {
  return connectNetworkControl({ kind: 'unixdir', dir });
}
