/**
 * Issue 14's "ping no worse than plain": offload and plain framing on the same
 * lab (the offload lab: OVS with userspace TSO, one network), pinged in
 * alternating blocks so that both meet the same machine load. The path suite
 * measures `arca-net-offload` and `arca-net-tso` one after the other, minutes
 * apart; on this noisy 2-core machine their p50s then differ by ±10 % from
 * one run to the next, which hides a difference of a few percent.
 *
 * Run: `BENCH_ONLY=offload-ping node bench/dist/main.js`.
 */
import type { OffloadPreference } from '@arca-net/host';
import { pingRtts } from '@arca-net/lab';
import type { PathLab } from '../configs/lab.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';

const SUBNET = '198.18.0';
const NETWORK = 'bench';

interface Pair {
  config: string;
  from: string;
  to: string;
}

export async function runOffloadPingSuite(
  pathLab: PathLab,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const { lab } = pathLab;
  const rounds = quick ? 2 : 6;
  const pings = quick ? 50 : 300;
  const names = ['ping-o1', 'ping-o2', 'ping-p1', 'ping-p2'];
  const start = async (name: string, host: number, offload: OffloadPreference) =>
    (await lab.runContainer(name, NETWORK, { ip: `${SUBNET}.${host}`, offload })).namespace;
  try {
    const pairs: Pair[] = [
      { config: 'arca-net-offload', from: await start('ping-o1', 30, 'on'), to: `${SUBNET}.31` },
      { config: 'arca-net-tso', from: await start('ping-p1', 32, 'off'), to: `${SUBNET}.33` },
    ];
    await start('ping-o2', 31, 'on');
    await start('ping-p2', 33, 'off');
    const rtts = new Map<string, number[]>(pairs.map((p) => [p.config, []]));
    for (const pair of pairs)
      await pingRtts(pair.from, pair.to, { count: 5, intervalSeconds: 0.05 });
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always follows the other.
      for (const pair of round % 2 === 0 ? pairs : [...pairs].reverse()) {
        log(`offload-ping: round ${round + 1}/${rounds}: ${pair.config} (${pings} pings)`);
        rtts
          .get(pair.config)
          ?.push(...(await pingRtts(pair.from, pair.to, { count: pings, intervalSeconds: 0.01 })));
      }
    }
    return pairs.map(({ config }) => {
      const raw = rtts.get(config) ?? [];
      const summary = summarize(raw);
      return {
        suite: 'offload-ping',
        metric: 'ping container→container, alternating blocks on one lab',
        config,
        unit: 'µs',
        better: 'lower',
        value: summary.p50,
        summary,
        raw,
        params: { rounds, pingsPerBlock: pings },
      } satisfies Figure;
    });
  } finally {
    for (const name of names) await lab.removeContainers(name).catch(() => undefined);
  }
}
