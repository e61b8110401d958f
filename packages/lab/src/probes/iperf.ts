/**
 * iperf3, the one way the bench and the tests run it: a server that is known
 * to listen before any client starts, and a client whose JSON report is read
 * through {@link parseIperfReport}, which turns iperf3's own `error` field
 * into an {@link IperfError} (iperf3 3.12 prints a report with `"error"` and
 * an empty `end`, and exits 0, when it cannot connect).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { inNamespace, tryCommand } from '../command.js';

/** What one iperf3 client run measured. */
export interface IperfResult {
  bitsPerSecond: number;
  packetsPerSecond?: number;
  lostPercent?: number;
  bytes: number;
  seconds: number;
}

/** iperf3 failed: `message` is iperf3's own words (its JSON `error`, or its stderr). */
export class IperfError extends Error {
  override name = 'IperfError';
}

export interface IperfServerOptions {
  /** Address to bind (`-B`); every address when absent. */
  bind?: string;
  /** Serve one test and exit (`-1`). */
  once?: boolean;
}

/**
 * Starts `iperf3 -s` in `ns` and resolves once it listens: iperf3 prints
 * "Server listening" after its listen(2), so a client started afterwards is
 * never refused.
 */
export async function startIperfServer(
  ns: string | undefined,
  port: number,
  options: IperfServerOptions = {},
): Promise<ChildProcess> {
  const argv = ['iperf3', '-s', '--forceflush', '-p', String(port)];
  if (options.bind) argv.push('-B', options.bind);
  if (options.once) argv.push('-1');
  const [file, ...args] = inNamespace(ns, argv);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new IperfError(`iperf3 server on port ${port} not listening after 10 s`)),
        10_000,
      );
      const collect = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Server listening')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new IperfError(`iperf3 server exited with ${code}: ${output.trim()}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return child;
}

export interface IperfClientOptions {
  seconds: number;
  streams?: number;
  /** UDP with this payload size (and no rate limit); TCP when absent. */
  udpPayload?: number;
  /** The server sends, the client receives (`-R`). */
  reverse?: boolean;
}

/** Runs an iperf3 client in `ns` against `server`; TCP unless `udpPayload` is given. */
export async function runIperfClient(
  ns: string | undefined,
  server: string,
  port: number,
  options: IperfClientOptions,
): Promise<IperfResult> {
  const argv = ['iperf3', '-J', '-c', server, '-p', String(port), '-t', String(options.seconds)];
  argv.push('-P', String(options.streams ?? 1));
  if (options.udpPayload) argv.push('-u', '-b', '0', '-l', String(options.udpPayload));
  if (options.reverse) argv.push('-R');
  // Not rejected on a non-zero exit: the JSON on stdout says why, in iperf3's words.
  const { stdout, stderr } = await tryCommand(inNamespace(ns, argv), {
    timeoutMs: (options.seconds + 30) * 1000,
  });
  return parseIperfReport(stdout, options.udpPayload ? 'udp' : 'tcp', stderr);
}

interface IperfJson {
  end?: {
    sum_received?: { bits_per_second: number; bytes: number; seconds: number };
    sum?: {
      bits_per_second: number;
      bytes: number;
      seconds: number;
      packets?: number;
      lost_percent?: number;
    };
  };
  error?: string;
}

/**
 * Reads an `iperf3 -J` client report. Throws {@link IperfError} with iperf3's
 * `error` text when it has one, or with `stderr` when stdout is not a report.
 */
export function parseIperfReport(stdout: string, kind: 'tcp' | 'udp', stderr = ''): IperfResult {
  let json: IperfJson;
  try {
    json = JSON.parse(stdout) as IperfJson;
  } catch {
    throw new IperfError(
      `iperf3: no JSON report: ${stderr.trim() || stdout.trim() || 'no output'}`,
    );
  }
  if (json.error) throw new IperfError(`iperf3: ${json.error}`);
  if (kind === 'udp') {
    const sum = json.end?.sum;
    if (!sum) throw new IperfError('iperf3: the UDP report has no end.sum');
    const lostPercent = sum.lost_percent ?? 0;
    const received = (sum.packets ?? 0) * (1 - lostPercent / 100);
    return {
      bitsPerSecond: sum.bits_per_second * (1 - lostPercent / 100),
      packetsPerSecond: received / sum.seconds,
      lostPercent,
      bytes: sum.bytes,
      seconds: sum.seconds,
    };
  }
  const received = json.end?.sum_received;
  if (!received) throw new IperfError('iperf3: the TCP report has no end.sum_received');
  return {
    bitsPerSecond: received.bits_per_second,
    bytes: received.bytes,
    seconds: received.seconds,
  };
}
