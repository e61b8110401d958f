/**
 * The whole data path, measured the same way for every configuration: ping
 * to the gateway and to the peer, TCP request/response rate, iperf3 TCP
 * throughput (1 and 4 streams), UDP packet rate at 64-byte payloads, and the
 * CPU each arca-net process used per GB moved.
 */
import {
  pingRtts,
  runIperfClient,
  startIperfServer,
  startRrServer,
  tcpRrRate,
} from '@arca-net/lab';
import { cpuSnapshot } from '../cpu.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';

/** Two endpoints of one configuration, ready to measure. */
export interface PathPair {
  config: string;
  /** `containerId`: the lab container's id, where the endpoint is one. */
  a: { ns: string; ip: string; containerId?: string };
  b: { ns: string; ip: string; containerId?: string };
  /** An address of the gateway as seen from `a`. */
  gateway: string;
  /** Processes whose CPU time counts for this path (name → pids), read before measuring. */
  processes?: () => Promise<Record<string, number[]>>;
  close(): Promise<void>;
}

/** How long each measurement runs. */
export interface PathBudget {
  pings: number;
  pingIntervalSeconds: number;
  tcpRrSeconds: number;
  iperfSeconds: number;
}

export const FULL_BUDGET: PathBudget = {
  pings: 1000,
  pingIntervalSeconds: 0.01,
  // 5 s windows keep a full run of five configurations (and the rest) under ten minutes.
  tcpRrSeconds: 5,
  iperfSeconds: 5,
};
export const QUICK_BUDGET: PathBudget = {
  pings: 100,
  pingIntervalSeconds: 0.01,
  tcpRrSeconds: 1,
  iperfSeconds: 1,
};

export const IPERF_PORT = 5201;

/**
 * One iperf3 measurement against a server of its own (`iperf3 -s -1`, started
 * and awaited on its "Server listening" line by startIperfServer): no client
 * ever meets the previous test's server still busy, so nothing is retried.
 */
export async function iperfOnce(
  serverNs: string,
  ...args: Parameters<typeof runIperfClient>
): ReturnType<typeof runIperfClient> {
  const server = await startIperfServer(serverNs, args[2], { once: true });
  const exited = new Promise((resolve) => server.once('exit', resolve));
  try {
    return await runIperfClient(...args);
  } finally {
    // Gone before the next measurement binds the same port.
    if (server.exitCode === null && server.signalCode === null) {
      server.kill();
      await exited;
    }
  }
}
const RR_PORT = 5299;

/** Measures every figure of the path suite on one configuration. */
export async function measurePath(
  pair: PathPair,
  budget: PathBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  const figures: Figure[] = [];
  const base = { suite: 'path', config: pair.config } as const;
  const ping = { count: budget.pings, intervalSeconds: budget.pingIntervalSeconds };

  // Warm ARP/flows so the first samples measure the path, not setup.
  await pingRtts(pair.a.ns, pair.b.ip, { count: 3, intervalSeconds: 0.05 });
  await pingRtts(pair.a.ns, pair.gateway, { count: 3, intervalSeconds: 0.05 });

  await pingRtts(pair.b.ns, pair.a.ip, { count: 3, intervalSeconds: 0.05 });
  for (const [metric, from, target] of [
    ['ping container→gateway', pair.a.ns, pair.gateway],
    ['ping container→container', pair.a.ns, pair.b.ip],
    ['ping container→container (reverse)', pair.b.ns, pair.a.ip],
  ] as const) {
    log(`${pair.config}: ${metric} (${budget.pings} pings)`);
    const rtts = await pingRtts(from, target, ping);
    const summary = summarize(rtts);
    figures.push({
      ...base,
      metric,
      unit: 'µs',
      better: 'lower',
      value: summary.p50,
      summary,
      raw: rtts,
    });
  }

  log(`${pair.config}: TCP request/response (${budget.tcpRrSeconds} s)`);
  const rrServer = await startRrServer(pair.b.ns, RR_PORT);
  try {
    const rate = await tcpRrRate(pair.a.ns, pair.b.ip, RR_PORT, budget.tcpRrSeconds);
    figures.push({
      ...base,
      metric: 'TCP 1-byte request/response',
      unit: 'transactions/s',
      better: 'higher',
      value: rate,
    });
  } finally {
    rrServer.kill();
  }

  const pids = pair.processes ? await pair.processes() : undefined;
  for (const streams of [1, 4]) {
    log(`${pair.config}: iperf3 TCP, ${streams} stream(s) (${budget.iperfSeconds} s)`);
    const before = pids ? cpuSnapshot(pids) : {};
    const result = await iperfOnce(pair.b.ns, pair.a.ns, pair.b.ip, IPERF_PORT, {
      seconds: budget.iperfSeconds,
      streams,
    });
    figures.push({
      ...base,
      metric: `iperf3 TCP ${streams} stream${streams > 1 ? 's' : ''}`,
      unit: 'Gbit/s',
      better: 'higher',
      value: result.bitsPerSecond / 1e9,
    });
    if (streams === 1 && pids) {
      const after = cpuSnapshot(pids);
      const gigabytes = result.bytes / 1e9;
      for (const [name, seconds] of Object.entries(after)) {
        figures.push({
          ...base,
          metric: `CPU per GB: ${name}`,
          unit: 'CPU s/GB',
          better: 'lower',
          value: (seconds - (before[name] ?? 0)) / gigabytes,
        });
      }
    }
  }
  log(`${pair.config}: iperf3 UDP 64-byte payloads (${budget.iperfSeconds} s)`);
  const udp = await iperfOnce(pair.b.ns, pair.a.ns, pair.b.ip, IPERF_PORT, {
    seconds: budget.iperfSeconds,
    udpPayload: 64,
  });
  figures.push({
    ...base,
    metric: 'UDP 64-byte packets delivered',
    unit: 'packets/s',
    better: 'higher',
    value: udp.packetsPerSecond ?? 0,
    params: { lostPercent: udp.lostPercent ?? 0 },
  });
  return figures;
}
