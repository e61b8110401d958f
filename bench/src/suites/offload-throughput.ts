/**
 * Issue 14's throughput ratio against the floor, measured the way the ping
 * ratio is (offload-ping): `arca-net-offload` and `floor-ovs-tso` on one
 * offload lab, iperf3 runs alternating between them so that both meet the
 * same machine load. The path suite measures the two minutes apart, and on
 * this 2-core machine the floor alone moves between 9.6 and 14 Gbit/s from
 * one run to the next, which swings their ratio by as much.
 *
 * Run: `BENCH_ONLY=offload-throughput node bench/dist/main.js`.
 */
import { type PathLab, setupFloorOvs, setupLabPair } from '../configs/lab.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';
import { IPERF_PORT, iperfOnce, type PathPair } from './path.js';

export async function runOffloadThroughputSuite(
  pathLab: PathLab,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const rounds = quick ? 1 : 5;
  const seconds = quick ? 1 : 5;
  const pairs: PathPair[] = [];
  try {
    pairs.push(await setupFloorOvs(pathLab));
    pairs.push(await setupLabPair(pathLab));
    const runs = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always follows the other.
      for (const pair of round % 2 === 0 ? pairs : [...pairs].reverse()) {
        for (const streams of [1, 4]) {
          const metric = `iperf3 TCP ${streams} stream${streams > 1 ? 's' : ''}, alternating runs on one lab`;
          log(
            `offload-throughput: round ${round + 1}/${rounds}: ${pair.config}, ${streams} stream(s)`,
          );
          const result = await iperfOnce(pair.b.ns, pair.a.ns, pair.b.ip, IPERF_PORT, {
            seconds,
            streams,
          });
          const key = `${pair.config}\n${metric}`;
          runs.set(key, [...(runs.get(key) ?? []), result.bitsPerSecond / 1e9]);
        }
      }
    }
    return [...runs].map(([key, values]) => {
      const [config = '', metric = ''] = key.split('\n');
      return {
        suite: 'offload-throughput',
        metric,
        config,
        unit: 'Gbit/s',
        better: 'higher',
        value: summarize(values).p50,
        raw: values,
        params: { rounds, seconds, runs: values.map((v) => v.toFixed(2)).join(' ') },
      } satisfies Figure;
    });
  } finally {
    for (const pair of pairs) await pair.close().catch(() => undefined);
  }
}
