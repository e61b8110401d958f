import { inNetns, run } from '../exec.js';

/** Options of {@link pingRtts}. */
export interface PingOptions {
  count: number;
  /** Seconds between echo requests (below 0.2 needs root). */
  intervalSeconds: number;
  payloadBytes?: number;
}

/** Per-reply RTTs in microseconds from `ping` run in `ns` towards `target`. */
export async function pingRtts(
  ns: string | undefined,
  target: string,
  options: PingOptions,
): Promise<number[]> {
  const argv = inNetns(ns, [
    'ping',
    '-n',
    '-c',
    String(options.count),
    '-i',
    String(options.intervalSeconds),
    '-s',
    String(options.payloadBytes ?? 56),
    '-W',
    '1',
    target,
  ]);
  const { stdout } = await run(argv, (options.count * options.intervalSeconds + 30) * 1000);
  return parsePingReplies(stdout);
}

/** RTTs (µs) of every `time=… ms` reply line of ping's output. */
export function parsePingReplies(output: string): number[] {
  const rtts: number[] = [];
  for (const match of output.matchAll(/time=([\d.]+) ms/g)) {
    rtts.push(Number(match[1]) * 1000);
  }
  if (rtts.length === 0) throw new Error(`ping got no replies:\n${output.slice(-500)}`);
  return rtts;
}
