import { type ChildProcess, spawn } from 'node:child_process';
import { inNetns, run } from '../exec.js';

/** What one iperf3 client run measured. */
export interface IperfResult {
  bitsPerSecond: number;
  packetsPerSecond?: number;
  lostPercent?: number;
  bytes: number;
  seconds: number;
}

/** Starts `iperf3 -s` in `ns`; resolves once it listens. */
export async function startIperfServer(
  ns: string | undefined,
  port: number,
): Promise<ChildProcess> {
  const [file, ...args] = inNetns(ns, ['iperf3', '-s', '--forceflush', '-p', String(port)]);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('iperf3 server did not start in 10 s')),
      10_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`iperf3 server exited with ${code}`));
    });
  });
  return child;
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

/** Runs an iperf3 client in `ns` against `server`; TCP unless `udpPayload` is given. */
export async function runIperfClient(
  ns: string | undefined,
  server: string,
  port: number,
  options: { seconds: number; streams?: number; udpPayload?: number },
): Promise<IperfResult> {
  const args = ['iperf3', '-J', '-c', server, '-p', String(port), '-t', String(options.seconds)];
  args.push('-P', String(options.streams ?? 1));
  if (options.udpPayload) args.push('-u', '-b', '0', '-l', String(options.udpPayload));
  const { stdout } = await run(inNetns(ns, args), (options.seconds + 30) * 1000);
  const json = JSON.parse(stdout) as IperfJson;
  if (json.error) throw new Error(`iperf3: ${json.error}`);
  if (options.udpPayload) {
    const sum = json.end?.sum;
    if (!sum) throw new Error('iperf3 UDP report has no end.sum');
    const received = (sum.packets ?? 0) * (1 - (sum.lost_percent ?? 0) / 100);
    return {
      bitsPerSecond: sum.bits_per_second * (1 - (sum.lost_percent ?? 0) / 100),
      packetsPerSecond: received / sum.seconds,
      lostPercent: sum.lost_percent ?? 0,
      bytes: sum.bytes,
      seconds: sum.seconds,
    };
  }
  const received = json.end?.sum_received;
  if (!received) throw new Error('iperf3 TCP report has no end.sum_received');
  return {
    bitsPerSecond: received.bits_per_second,
    bytes: received.bytes,
    seconds: received.seconds,
  };
}
