/**
 * What a container receives, as seen by tcpdump on its interface: a capture
 * started before the traffic (awaited until tcpdump says it is listening),
 * read line by line, waited on for a marker, then stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inNamespace, tryCommand, waitFor } from '../../packages/lab/dist/index.js';

/** test/security/hostile.py: raw frames, forged DHCP, broadcast and multicast datagrams. */
export const HOSTILE_TOOL = fileURLToPath(new URL('./hostile.py', import.meta.url));

/** Runs hostile.py in `namespace`; throws with its stderr when it fails. */
export async function hostile(namespace: string, ...args: string[]): Promise<void> {
  const result = await tryCommand(inNamespace(namespace, ['python3', HOSTILE_TOOL, ...args]), {
    timeoutMs: 30_000,
  });
  if (result.code !== 0) throw new Error(`hostile.py ${args.join(' ')}: ${result.stderr}`);
}

/** A running `tcpdump -e -n -l` inside a namespace. */
export class Capture {
  readonly lines: string[] = [];
  readonly #child: ChildProcess;
  #listening = false;
  #exited = false;

  private constructor(namespace: string, device: string, filter: string) {
    const argv = inNamespace(namespace, ['tcpdump', '-i', device, '-e', '-n', '-l', filter]);
    this.#child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      this.lines.push(...lines.filter((line) => line !== ''));
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) this.#listening = true;
    });
    this.#child.once('exit', () => {
      this.#exited = true;
    });
  }

  /** Starts tcpdump with `filter` on `device` in `namespace`; resolves once it listens. */
  static async start(namespace: string, device: string, filter: string): Promise<Capture> {
    const capture = new Capture(namespace, device, filter);
    const ready = await waitFor(async () => capture.#listening || capture.#exited, {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    if (!ready || !capture.#listening) {
      capture.stop();
      throw new Error(`tcpdump '${filter}' in ${namespace} did not start listening`);
    }
    return capture;
  }

  /** Lines that contain `text`. */
  matching(text: string): string[] {
    return this.lines.filter((line) => line.includes(text));
  }

  /** Waits (bounded) until a line contains `text`. */
  seen(text: string, timeoutMs = 15_000): Promise<boolean> {
    return waitFor(async () => this.matching(text).length > 0, { timeoutMs, intervalMs: 50 });
  }

  stop(): void {
    if (!this.#exited) this.#child.kill('SIGINT');
  }
}
