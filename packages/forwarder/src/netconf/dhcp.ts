/**
 * DHCP client mode: busybox `udhcpc` asks for one lease on a device; its
 * script (ours, in a temp directory that lives as long as the request) only
 * prints the lease, and the forwarder applies it through the `ip` wrapper. Attempts repeat until a
 * deadline, so a missing DHCP server costs bounded time.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, silentLogger } from '@arca-net/log';
import { type CommandRunner, execRunner } from './ip.js';

/** What a DHCP server granted. */
export interface DhcpLease {
  address: string;
  prefixLength: number;
  router?: string;
  dns: string[];
  leaseSeconds?: number;
}

export interface DhcpOptions {
  /** The busybox binary, default `busybox` from PATH. */
  busybox?: string;
  /** DISCOVERs per udhcpc run (`-t`), default 3. */
  discoverCount?: number;
  /** Seconds between DISCOVERs (`-T`), default 1. */
  discoverIntervalSeconds?: number;
  /** Give up after this long in total (all runs), default 30 s. */
  deadlineMs?: number;
  /** Stops further attempts (e.g. on detach). */
  signal?: AbortSignal;
  /** Runs udhcpc (tests inject a fake). */
  run?: CommandRunner;
  logger?: Logger;
}

const LEASE_MARK = 'ARCA_LEASE';

/** The udhcpc script: prints the lease on `bound`/`renew`, changes nothing itself. */
export function udhcpcScript(shell: string): string {
  return [
    `#!${shell} sh`,
    'case "$1" in',
    `  bound|renew) echo "${LEASE_MARK} ip=$ip subnet=$subnet router=$router dns=$dns lease=$lease" ;;`,
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

/** Runs `work` with the path of the udhcpc script, in a temp directory removed afterwards. */
async function withScript<T>(busybox: string, work: (script: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'arca-net-udhcpc-'));
  try {
    const script = join(dir, 'lease.sh');
    await writeFile(script, udhcpcScript(busybox.includes('/') ? busybox : '/bin/busybox'));
    await chmod(script, 0o755);
    return await work(script);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Prefix length of a dotted netmask (`255.255.255.0` → 24); undefined if not contiguous. */
export function maskToPrefix(mask: string): number | undefined {
  const parts = mask.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    return undefined;
  }
  const bits = parts.reduce((acc, p) => (acc << 8) | p, 0) >>> 0;
  const prefix = bits === 0 ? 0 : 32 - Math.log2((~bits >>> 0) + 1);
  return Number.isInteger(prefix) ? prefix : undefined;
}

/** Reads the lease line our script printed; undefined when there is none. */
export function parseLease(stdout: string): DhcpLease | undefined {
  const line = stdout.split('\n').findLast((l) => l.startsWith(`${LEASE_MARK} `));
  if (!line) return undefined;
  const fields = new Map<string, string>();
  for (const part of line.slice(LEASE_MARK.length + 1).split(' ')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const address = fields.get('ip');
  const prefixLength = maskToPrefix(fields.get('subnet') ?? '255.255.255.0');
  if (!address || prefixLength === undefined) return undefined;
  const router = fields.get('router')?.split(',')[0];
  const lease = Number(fields.get('lease'));
  // busybox passes several DNS servers space-separated: only the first follows `dns=`.
  const dns = (fields.get('dns') ?? '').split(',').filter(Boolean);
  return {
    address,
    prefixLength,
    ...(router ? { router } : {}),
    dns,
    ...(Number.isFinite(lease) && lease > 0 ? { leaseSeconds: lease } : {}),
  };
}

/** The argv of one udhcpc run. */
export function udhcpcArgs(
  device: string,
  script: string,
  count: number,
  interval: number,
): string[] {
  return [
    'udhcpc',
    '-f',
    '-q',
    '-n',
    '-i',
    device,
    '-t',
    String(count),
    '-T',
    String(interval),
    '-s',
    script,
  ];
}

/**
 * Obtains a lease on `device`, running udhcpc again until `deadlineMs` has
 * passed; rejects when the deadline passes or `signal` aborts.
 */
export async function obtainLease(device: string, options: DhcpOptions = {}): Promise<DhcpLease> {
  const busybox = options.busybox ?? 'busybox';
  const count = options.discoverCount ?? 3;
  const interval = options.discoverIntervalSeconds ?? 1;
  const deadline = Date.now() + (options.deadlineMs ?? 30_000);
  const log = (options.logger ?? silentLogger).child({ component: 'dhcp', device });
  const run = options.run ?? execRunner((count * interval + 5) * 1000, log);
  return withScript(busybox, async (script) => {
    let lastError = 'no attempt';
    while (Date.now() < deadline && !options.signal?.aborted) {
      try {
        const lease = parseLease(await run(busybox, udhcpcArgs(device, script, count, interval)));
        if (lease) {
          log.info({ lease }, 'dhcp lease obtained');
          return lease;
        }
        lastError = 'udhcpc printed no lease';
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        log.debug({ err: error }, 'udhcpc attempt failed');
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(
      options.signal?.aborted
        ? `dhcp on ${device} aborted`
        : `no DHCP lease on ${device}: ${lastError}`,
    );
  });
}
