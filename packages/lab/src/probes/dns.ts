/**
 * dig run in a namespace, read as data: the status, the answers and the query
 * time. Retries are off (`+tries=1 +retry=0`) so the time is one exchange's,
 * and a silent server shows as a timeout, never as a late answer.
 */
import { inNamespace, tryCommand } from '../command.js';

/** Options of {@link dig}. */
export interface DigOptions {
  /** Record type (default A); `PTR` with an IPv4 `name` asks for its reverse name. */
  type?: string;
  /** Server address (default: the namespace's resolv.conf). */
  server?: string;
  tcp?: boolean;
  /** EDNS on (dig's default) or off (`+noedns`). */
  edns?: boolean;
  /** dig's own wait for the answer, seconds (default 5: a resolver's usual timeout). */
  timeoutSeconds?: number;
}

/** What one dig saw. */
export interface DigResult {
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED, …; 'TIMEOUT' when no answer came. */
  status: string;
  /** The answer section's data fields (addresses, names), in order. */
  answers: string[];
  /** The server's OPT pseudo-section was present. */
  edns: boolean;
  /** dig's "Query time", ms; the wall time of the dig run when dig printed none. */
  timeMs: number;
  output: string;
}

/** Reads dig's output. `wallMs` stands in for a missing "Query time". */
export function parseDig(output: string, wallMs = Number.NaN): DigResult {
  const status = /status: ([A-Z]+)/.exec(output)?.[1] ?? 'TIMEOUT';
  const answers: string[] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(output)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 5) answers.push(fields.slice(4).join(' '));
  }
  const time = /Query time: (\d+) msec/.exec(output)?.[1];
  return {
    status,
    answers,
    edns: /OPT PSEUDOSECTION/.test(output),
    timeMs: time === undefined ? wallMs : Number(time),
    output,
  };
}

/** Asks `name` from namespace `ns` with dig; never rejects for a failed lookup. */
export async function dig(
  ns: string | undefined,
  name: string,
  options: DigOptions = {},
): Promise<DigResult> {
  const argv = ['dig', '+tries=1', '+retry=0', `+time=${options.timeoutSeconds ?? 5}`];
  if (options.tcp) argv.push('+tcp');
  if (options.edns === false) argv.push('+noedns');
  if (options.server) argv.push(`@${options.server}`);
  if (options.type === 'PTR') argv.push('-x', name);
  else argv.push('-t', options.type ?? 'A', name);
  const started = Date.now();
  const result = await tryCommand(inNamespace(ns, argv), { timeoutMs: 30_000 });
  return parseDig(`${result.stdout}\n${result.stderr}`, Date.now() - started);
}
