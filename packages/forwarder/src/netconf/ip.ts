/**
 * The one wrapper around iproute2's `ip`: execFile with an argument array and
 * a process timeout; failures carry argv, exit code and stderr. The runner is
 * injectable so unit tests can assert exact argv arrays.
 */
import { execFile } from 'node:child_process';
import { type Logger, silentLogger } from '@arca-net/log';
import { ForwarderError } from '../errors.js';

/** Runs one command; resolves with stdout, rejects with {@link CommandError}. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

/** A failed external command. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${argv.join(' ')} failed (exit ${exitCode ?? 'signal'}): ${stderr.trim()}`, options);
    this.name = 'CommandError';
  }
}

/** The real runner: `execFile` with `timeoutMs` and no shell. */
export function execRunner(timeoutMs = 5000, logger: Logger = silentLogger): CommandRunner {
  return (file, args) =>
    new Promise((resolve, reject) => {
      execFile(
        file,
        [...args],
        { timeout: timeoutMs, encoding: 'utf8' },
        (error, stdout, stderr) => {
          logger.debug({ argv: [file, ...args], stdout, stderr }, 'command ran');
          if (error) {
            const code = typeof error.code === 'number' ? error.code : null;
            const why = error.killed ? `killed after ${timeoutMs} ms` : stderr || error.message;
            reject(new CommandError([file, ...args], code, why, { cause: error }));
          } else resolve(stdout);
        },
      );
    });
}

/** One address of a device as `ip -j addr` reports it. */
export interface IpAddress {
  address: string;
  prefixLength: number;
}

/** Typed `ip` operations on one device at a time. */
export class IpTool {
  constructor(
    private readonly run: CommandRunner = execRunner(),
    private readonly file = 'ip',
  ) {}

  private async ip(args: string[]): Promise<string> {
    try {
      return await this.run(this.file, args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ForwarderError('NETCONF_FAILED', message, { cause: error });
    }
  }

  /** Replaces (idempotently) `address/prefix` on `device`. */
  async setAddress(device: string, address: string, prefixLength: number): Promise<void> {
    await this.ip(['addr', 'replace', `${address}/${prefixLength}`, 'dev', device]);
  }

  /** Removes every IPv4 address of `device`. */
  async flushAddresses(device: string): Promise<void> {
    await this.ip(['-4', 'addr', 'flush', 'dev', device]);
  }

  /** Makes `gateway` on `device` the default route (replacing any other). */
  async setDefaultRoute(device: string, gateway: string): Promise<void> {
    await this.ip(['route', 'replace', 'default', 'via', gateway, 'dev', device]);
  }

  /** Removes every IPv4 default route (none is not an error). */
  async removeDefaultRoute(): Promise<void> {
    await this.ip(['-4', 'route', 'flush', 'exact', '0.0.0.0/0']);
  }

  /** Brings `device` up. */
  async linkUp(device: string): Promise<void> {
    await this.ip(['link', 'set', 'dev', device, 'up']);
  }

  /** The IPv4 addresses of `device`. */
  async addresses(device: string): Promise<IpAddress[]> {
    const out = await this.ip(['-j', '-4', 'addr', 'show', 'dev', device]);
    const parsed: unknown = JSON.parse(out || '[]');
    const result: IpAddress[] = [];
    for (const link of Array.isArray(parsed) ? parsed : []) {
      const infos: unknown = (link as { addr_info?: unknown }).addr_info;
      for (const info of Array.isArray(infos) ? infos : []) {
        const { local, prefixlen } = info as { local?: unknown; prefixlen?: unknown };
        if (typeof local === 'string' && typeof prefixlen === 'number') {
          result.push({ address: local, prefixLength: prefixlen });
        }
      }
    }
    return result;
  }
}
