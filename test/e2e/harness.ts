/**
 * End-to-end harness: one lab per test file, in its own directory and with its
 * own namespace prefix, driven through the real `arca-net` executable.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  type CommandResult,
  listNamespaces,
  parsePing,
  tryCommand,
} from '../../packages/lab/dist/index.js';

export const CLI = fileURLToPath(new URL('../../packages/cli/dist/main.js', import.meta.url));

/** A lab of its own: `/tmp/arcanet-e2e-<tag>-<random>`, namespaces `ae<random>-…`. */
export class LabHarness {
  readonly dir: string;
  readonly prefix: string;

  constructor(tag: string) {
    const random = randomBytes(3).toString('hex');
    this.dir = `/tmp/arcanet-e2e-${tag}-${random}`;
    this.prefix = `ae${random}`;
  }

  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ARCA_NET_LAB_DIR: this.dir,
      ARCA_NET_LAB_PREFIX: this.prefix,
      ARCA_NET_LOG_FORMAT: 'json',
    };
  }

  /** `arca-net ARGS…` against this lab. */
  cli(...args: string[]): Promise<CommandResult> {
    return tryCommand([process.execPath, CLI, ...args], { env: this.env });
  }

  /** `arca-net ARGS… --json`, parsed; throws with stderr when it fails. */
  async json<T>(...args: string[]): Promise<T> {
    const result = await this.cli(...args, '--json');
    if (result.code !== 0)
      throw new Error(`arca-net ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** `arca-net ARGS…`, which must succeed; returns stdout. */
  async ok(...args: string[]): Promise<string> {
    const result = await this.cli(...args);
    if (result.code !== 0)
      throw new Error(`arca-net ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  /** Runs a command in a container's namespace through `lab exec`. */
  exec(container: string, ...command: string[]): Promise<CommandResult> {
    return this.cli('lab', 'exec', container, '--', ...command);
  }

  /** Namespaces of this lab that exist now. */
  async namespaces(): Promise<string[]> {
    return (await listNamespaces()).filter((name) => name.startsWith(`${this.prefix}-`));
  }

  /** Processes whose command line mentions this lab's directory. */
  async processes(): Promise<number[]> {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0').join(' ');
        if (cmdline.includes(this.dir) && Number(entry) !== process.pid) pids.push(Number(entry));
      } catch {
        // gone
      }
    }
    return pids;
  }

  /**
   * `lab up`, which must succeed, then `network create` of each of `networks`
   * (name → subnet) and `lab run` of each of `containers` (name → its network), in order.
   */
  async up(
    networks: Record<string, string> = {},
    containers: Record<string, string> = {},
  ): Promise<void> {
    const up = await this.cli('lab', 'up');
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.stderr}`);
    for (const [name, subnet] of Object.entries(networks)) {
      await this.ok('network', 'create', name, '--subnet', subnet);
    }
    for (const [name, network] of Object.entries(containers)) {
      await this.ok('lab', 'run', name, '--network', network);
    }
  }

  /** `lab down`, for afterAll. */
  async down(): Promise<CommandResult> {
    return this.cli('lab', 'down', '--quiet');
  }
}

/** CPU time (user + system) process `pid` has used so far, in seconds (clock ticks of 1/100 s). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's ")": state is field 3, utime 14 and stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Number of replies in ping's summary. */
export function pingReplies(output: string): number {
  return parsePing(output).received;
}
