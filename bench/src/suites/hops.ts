/**
 * Where a ping's time goes on the arca-net path: per-hop timestamps of the
 * same ICMP echo at four capture points, taken by tcpdump in each namespace
 * from one system clock:
 *
 *   container A eth0 ─ forwarder → host relay → helper relay ─ A's TAP on br-int
 *     ─ OVS (userspace) ─ B's TAP on br-int ─ helper relay → host relay → forwarder ─ container B eth0
 *
 * Each hop is the difference of the capture times of one echo (matched by
 * ICMP sequence number) at two points; medians over every echo. tcpdump adds a
 * little work on each point, so the sum is a bit above an uncaptured ping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lspName } from '@arca-net/controller';
import { inNamespace, runCommand } from '@arca-net/lab';
import { type PathLab, setupLabPair } from '../configs/lab.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';

interface Capture {
  /** echo request / reply capture time (s) by ICMP sequence number. */
  request: Map<number, number>;
  reply: Map<number, number>;
}

const LINE = /^(\d+\.\d+) .*ICMP echo (request|reply), id \d+, seq (\d+)/;

/** Parses `tcpdump -tt -n` lines into capture times by sequence number. */
export function parseCapture(output: string): Capture {
  const capture: Capture = { request: new Map(), reply: new Map() };
  for (const line of output.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const map = m[2] === 'request' ? capture.request : capture.reply;
    const seq = Number(m[3]);
    if (!map.has(seq)) map.set(seq, Number(m[1]));
  }
  return capture;
}

/** Starts tcpdump on `iface` in `ns`; resolves once it listens. */
async function startTcpdump(
  ns: string,
  iface: string,
): Promise<{ stop(): Promise<string>; child: ChildProcess }> {
  const [file, ...args] = inNamespace(ns, [
    'tcpdump',
    ...['-i', iface, '-n', '-tt', '-l', '--immediate-mode', '-B', '4096', 'icmp'],
  ]);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tcpdump on ${ns}/${iface} did not start`)),
      10_000,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump on ${ns}/${iface} exited with ${code}`));
    });
  });
  return {
    child,
    stop: () =>
      new Promise<string>((resolve) => {
        child.once('exit', () => resolve(out));
        child.kill('SIGINT');
      }),
  };
}

/** Median time of each hop of a container→container ping on `pathLab` (native relays). */
export async function runHopsSuite(
  pathLab: PathLab,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const pings = quick ? 100 : 500;
  const { lab, networkId } = pathLab;
  const pair = await setupLabPair(pathLab);
  try {
    const tap = (containerId: string | undefined): string => {
      if (!containerId) throw new Error('hops: the lab pair has no container ids');
      return lspName(containerId, networkId);
    };
    const points = [
      { name: 'A eth0', ns: pair.a.ns, iface: 'eth0' },
      { name: 'A TAP', ns: lab.helperNamespace, iface: tap(pair.a.containerId) },
      { name: 'B TAP', ns: lab.helperNamespace, iface: tap(pair.b.containerId) },
      { name: 'B eth0', ns: pair.b.ns, iface: 'eth0' },
    ] as const;
    // Warm ARP and flows first, so that every captured echo takes the steady path.
    await runCommand(inNamespace(pair.a.ns, ['ping', '-c', '3', '-i', '0.05', pair.b.ip]));
    const dumps = [];
    for (const p of points) dumps.push(await startTcpdump(p.ns, p.iface));
    log(`hops: ${pings} pings A → B captured at ${points.map((p) => p.name).join(', ')}`);
    try {
      await runCommand(
        inNamespace(pair.a.ns, ['ping', '-q', '-c', String(pings), '-i', '0.01', pair.b.ip]),
        { timeoutMs: (pings * 0.01 + 30) * 1000 },
      );
    } finally {
      // Let the last replies reach every capture point.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [aEth, aTap, bTap, bEth] = (await Promise.all(dumps.map((d) => d.stop()))).map(
      parseCapture,
    ) as [Capture, Capture, Capture, Capture];
    const hops: Array<[string, Map<number, number>, Map<number, number>]> = [
      ['relays A → OVS (forwarder, host, helper)', aEth.request, aTap.request],
      ['OVS switching A → B', aTap.request, bTap.request],
      ['relays OVS → B (helper, host, forwarder)', bTap.request, bEth.request],
      ['container B kernel answers', bEth.request, bEth.reply],
      ['relays B → OVS', bEth.reply, bTap.reply],
      ['OVS switching B → A', bTap.reply, aTap.reply],
      ['relays OVS → A', aTap.reply, aEth.reply],
      ['round trip at A eth0', aEth.request, aEth.reply],
    ];
    const figures: Figure[] = [];
    for (const [metric, from, to] of hops) {
      const deltas: number[] = [];
      for (const [seq, t0] of from) {
        const t1 = to.get(seq);
        if (t1 !== undefined) deltas.push((t1 - t0) * 1e6);
      }
      if (deltas.length < pings / 2) {
        throw new Error(`hops: ${metric}: only ${deltas.length} of ${pings} echoes captured`);
      }
      const summary = summarize(deltas);
      figures.push({
        suite: 'path-hops',
        metric,
        config: 'arca-net',
        unit: 'µs',
        better: 'lower',
        value: summary.p50,
        summary,
        params: { pings, method: 'tcpdump -tt capture times of one echo at both points' },
      });
    }
    return figures;
  } finally {
    await pair.close();
  }
}
