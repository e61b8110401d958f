/**
 * Issue 14 item 5: what the opt-in bounded spin of the relay loops
 * (`ARCA_NET_RELAY_SPIN_US`, off by default) buys and costs. A lab of its own
 * is brought up with the variable set (every relay process inherits it: the
 * forwarders, the lab host, the helper's controller), and measured as
 * `arca-net-spin` with the path suite (ping, TCP 1-byte request/response,
 * iperf3, CPU per GB under load) and the per-hop timings; this suite adds the
 * CPU the relay processes burn at idle and while a ping runs, on the spin lab
 * and on the shared `arca-net` lab (no spin) side by side.
 *
 * Run: `BENCH_ONLY=arca-net,hops,spin make bench` (or `node bench/dist/main.js`
 * after `pnpm exec tsc -b`); the spin length is BENCH_SPIN_US (default 50).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { inNamespace, runCommand } from '@arca-net/lab';
import { type PathLab, setupLabPair, upPathLab } from '../configs/lab.js';
import { cpuSnapshot } from '../cpu.js';
import type { Figure } from '../figures.js';
import { measurePath, type PathBudget } from './path.js';

export const SPIN_CONFIG = 'arca-net-spin';

/** The spin length of the `arca-net-spin` lab, in microseconds. */
export function benchSpinMicros(): number {
  const value = Number(process.env.BENCH_SPIN_US ?? 50);
  return Number.isInteger(value) && value > 0 ? value : 50;
}

/** Brings up the spin lab: `ARCA_NET_RELAY_SPIN_US` is in the environment while its processes start. */
export async function upSpinLab(): Promise<PathLab> {
  const saved = process.env.ARCA_NET_RELAY_SPIN_US;
  process.env.ARCA_NET_RELAY_SPIN_US = String(benchSpinMicros());
  try {
    return await upPathLab('native', false, 'spin');
  } finally {
    if (saved === undefined) delete process.env.ARCA_NET_RELAY_SPIN_US;
    else process.env.ARCA_NET_RELAY_SPIN_US = saved;
  }
}

/** The path suite on the spin lab, as `arca-net-spin`. */
export async function spinPathFigures(
  pathLab: PathLab,
  budget: PathBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  const pair = { ...(await setupLabPair(pathLab)), config: SPIN_CONFIG };
  try {
    return await measurePath(pair, budget, log);
  } finally {
    await pair.close();
  }
}

/** Relay-process CPU at idle and during a ping, on `pathLab` labelled `config`. */
export async function spinCpuFigures(
  pathLab: PathLab,
  config: string,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const idleSeconds = quick ? 2 : 5;
  const pings = quick ? 100 : 500;
  const pair = await setupLabPair(pathLab);
  try {
    const all = await pair.processes!();
    const groups = {
      'forwarders (both containers)': all['forwarders (both containers)'] ?? [],
      'lab host (host relays)': all['lab host (host relays)'] ?? [],
      'controller (helper relays)': all['controller (helper relays)'] ?? [],
    };
    const total = (snap: Record<string, number>): number =>
      Object.values(snap).reduce((sum, v) => sum + v, 0);
    // Warm up the path (ARP, flows), then measure.
    await runCommand(inNamespace(pair.a.ns, ['ping', '-c', '3', '-i', '0.05', pair.b.ip]));
    log(`spin: ${config}: relay-process CPU over ${idleSeconds} s idle`);
    const idle0 = total(cpuSnapshot(groups));
    await sleep(idleSeconds * 1000);
    const idle = total(cpuSnapshot(groups)) - idle0;
    log(`spin: ${config}: relay-process CPU during ${pings} pings every 10 ms`);
    const ping0 = total(cpuSnapshot(groups));
    await runCommand(
      inNamespace(pair.a.ns, ['ping', '-q', '-c', String(pings), '-i', '0.01', pair.b.ip]),
      { timeoutMs: (pings * 0.01 + 30) * 1000 },
    );
    const ping = total(cpuSnapshot(groups)) - ping0;
    const params = { spinMicros: config === SPIN_CONFIG ? benchSpinMicros() : 0 };
    return [
      {
        suite: 'relay-spin',
        metric: 'relay processes CPU at idle (forwarders, host, controller)',
        config,
        unit: 'CPU ms/s',
        better: 'lower',
        value: (idle * 1000) / idleSeconds,
        params: { ...params, seconds: idleSeconds },
      },
      {
        suite: 'relay-spin',
        metric: 'relay processes CPU per ping round trip (container→container)',
        config,
        unit: 'CPU µs',
        better: 'lower',
        value: (ping * 1e6) / pings,
        params: { ...params, pings, intervalSeconds: 0.01 },
      },
    ];
  } finally {
    await pair.close();
  }
}
