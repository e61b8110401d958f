/**
 * ping (iputils) run in a namespace, read as data: the replies' round trip
 * times, the summary's counts, and whether the target name resolved.
 */
import { inNamespace, tryCommand } from '../command.js';

/** Options of {@link ping}. */
export interface PingOptions {
  count: number;
  /** Seconds between echo requests (below 0.2 needs root). */
  intervalSeconds: number;
  payloadBytes?: number;
  /** Seconds to wait for each reply (default 1). */
  waitSeconds?: number;
}

/** What one ping run saw. */
export interface PingResult {
  sent: number;
  received: number;
  /** Round trip time of every reply, in microseconds. */
  rttsUs: number[];
  /** False when ping could not resolve the target name. */
  resolved: boolean;
  /** ping's stdout and stderr, for error messages. */
  output: string;
}

/** Reads ping's output: reply times, the summary's counts and name errors. */
export function parsePing(output: string): PingResult {
  const rttsUs = [...output.matchAll(/time=([\d.]+) ms/g)].map((match) => Number(match[1]) * 1000);
  return {
    sent: Number(/(\d+) packets transmitted/.exec(output)?.[1] ?? 0),
    received: Number(/(\d+) (?:packets )?received/.exec(output)?.[1] ?? 0),
    rttsUs,
    resolved: !/bad address|unknown host|Name or service not known|Temporary failure/i.test(output),
    output,
  };
}

/** Pings `target` from namespace `ns` (the root namespace when undefined); never rejects for lost replies. */
export async function ping(
  ns: string | undefined,
  target: string,
  options: PingOptions,
): Promise<PingResult> {
  const argv = inNamespace(ns, [
    ...['ping', '-n', '-c', String(options.count), '-i', String(options.intervalSeconds)],
    ...['-s', String(options.payloadBytes ?? 56), '-W', String(options.waitSeconds ?? 1), target],
  ]);
  const timeoutMs = (options.count * options.intervalSeconds + 30) * 1000;
  const result = await tryCommand(argv, { timeoutMs });
  return parsePing(`${result.stdout}\n${result.stderr}`);
}

/** Per-reply round trip times (µs) from `ns` to `target`; throws when no reply came. */
export async function pingRtts(
  ns: string | undefined,
  target: string,
  options: PingOptions,
): Promise<number[]> {
  const result = await ping(ns, target, options);
  if (result.rttsUs.length === 0)
    throw new Error(`ping got no replies:\n${result.output.slice(-500)}`);
  return result.rttsUs;
}
