/**
 * The outside world of the suite's dockerd, made like the lab's: a namespace
 * at 198.51.100.1/24 (documentation range) joined by a veth pair to dockerd's
 * namespace (198.51.100.2, its default route), with the lab's fake upstream
 * resolver (packages/lab/src/upstream, the same program and names) at
 * 203.0.113.53 on its loopback, which dockerd gets as `--dns`. An echo server
 * (`hello-from-outside PEER`) listens at 198.51.100.1:{@link ECHO_PORT} in it
 * and in the lab's own outside namespace, so egress is compared on both.
 * Nothing leaves the namespaces the suite and the lab made.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, stopProcess, waitFor } from '../../packages/lab/dist/index.js';

export const OUTSIDE_ADDRESS = '198.51.100.1';
export const ENGINE_OUTSIDE_ADDRESS = '198.51.100.2';
export const UPSTREAM_ADDRESS = '203.0.113.53';
export const ECHO_PORT = 8080;

const upstreamMain = fileURLToPath(
  new URL('../../packages/lab/dist/upstream/main.js', import.meta.url),
);

const ECHO_SERVER = `import { createServer } from 'node:net';
const [host, port] = process.argv.slice(2);
createServer((s) => {
  s.on('error', () => undefined);
  s.end('hello-from-outside ' + s.remoteAddress + '\\n');
}).listen(Number(port), host, () => process.stdout.write('listening\\n'));
`;

/** A process in a namespace, its output in `log`. */
function spawnIn(namespace: string, argv: readonly string[], log: string): ChildProcess {
  const child = spawn('nsenter', [`--net=/var/run/netns/${namespace}`, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = createWriteStream(log, { flags: 'a' });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return child;
}

/** Waits until `nc` from `namespace` gets an answer from host:port (TCP). */
async function answers(namespace: string, host: string, port: number): Promise<boolean> {
  return waitFor(
    async () =>
      runCommand([
        ...['nsenter', `--net=/var/run/netns/${namespace}`],
        ...['busybox', 'nc', '-w', '1', host, String(port)],
      ]).then(
        (r) => r.stdout !== '',
        () => false,
      ),
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

export class OutsideWorlds {
  private readonly children: ChildProcess[] = [];

  constructor(readonly dir: string) {}

  /**
   * Links `outside` (an existing, empty namespace) to dockerd's `engine`
   * namespace, routes the engine's default route through it, and starts the
   * fake upstream and the echo server there.
   */
  async forEngine(engine: string, outside: string): Promise<void> {
    await runCommand([
      ...['ip', 'link', 'add', 'out0', 'netns', engine, 'type', 'veth'],
      ...['peer', 'name', 'eth0', 'netns', outside],
    ]);
    await runCommand(['ip', '-n', outside, 'addr', 'add', `${OUTSIDE_ADDRESS}/24`, 'dev', 'eth0']);
    await runCommand(['ip', '-n', outside, 'link', 'set', 'eth0', 'up']);
    await runCommand(['ip', '-n', outside, 'addr', 'add', `${UPSTREAM_ADDRESS}/32`, 'dev', 'lo']);
    await runCommand([
      ...['ip', '-n', engine, 'addr', 'add', `${ENGINE_OUTSIDE_ADDRESS}/24`, 'dev', 'out0'],
    ]);
    await runCommand(['ip', '-n', engine, 'link', 'set', 'out0', 'up']);
    await runCommand(['ip', '-n', engine, 'route', 'add', 'default', 'via', OUTSIDE_ADDRESS]);
    this.children.push(
      spawnIn(
        outside,
        [process.execPath, upstreamMain, '--lab-dir', this.dir],
        join(this.dir, 'upstream.log'),
      ),
    );
    const resolving = await waitFor(
      async () =>
        runCommand([
          ...['nsenter', `--net=/var/run/netns/${engine}`],
          ...['busybox', 'nslookup', 'www.example.com', UPSTREAM_ADDRESS],
        ]).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    if (!resolving) throw new Error(`the fake upstream does not answer (${this.dir}/upstream.log)`);
    await this.echoServer(outside, engine);
  }

  /** Starts the echo server in `outside` and waits until `from` reaches it. */
  async echoServer(outside: string, from: string): Promise<void> {
    const script = join(this.dir, 'echo-server.mjs');
    writeFileSync(script, ECHO_SERVER);
    this.children.push(
      spawnIn(
        outside,
        [process.execPath, script, OUTSIDE_ADDRESS, String(ECHO_PORT)],
        join(this.dir, `echo-${outside}.log`),
      ),
    );
    if (!(await answers(from, OUTSIDE_ADDRESS, ECHO_PORT))) {
      throw new Error(`the echo server in ${outside} is not reachable from ${from}`);
    }
  }

  /** Stops what it started (its namespaces are the caller's). */
  async stop(): Promise<void> {
    for (const child of this.children.splice(0)) {
      if (child.pid !== undefined) await stopProcess(child.pid, 5_000).catch(() => undefined);
    }
  }
}
