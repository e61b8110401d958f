/**
 * The cluster suite (docs/cluster.md): a lab of two hosts (`lab up --hosts 2`)
 * and one overlay network; a server container on host 1, one client beside
 * it on host 1 (`same-host`: relays and one OVS) and one on host 2
 * (`cross-host`: relays, two OVS and a Geneve tunnel over the underlay).
 * Figures: ping round trip, TCP throughput (iperf3), and the time of a
 * connect (`lab run` through the lab host's API) on each host.
 */
import type { ChildProcess } from 'node:child_process';
import {
  hostPaths,
  LabClient,
  LabPaths,
  labDown,
  labUp,
  pingRtts,
  runIperfClient,
  startIperfServer,
} from '@arca-net/lab';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';
import { deadChassisRestartFigure, routedPingFigure } from './cluster-routed.js';

const SUBNET = '198.18.2';
const IPERF_PORT = 5201;

/** The cluster suite: brings its two-host lab up and down itself. */
export async function runClusterSuite(
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const paths = new LabPaths({ dir: '/run/arca-net/bench-lab-cluster', prefix: 'anbclu' });
  const hosts = [paths, hostPaths(paths, 2)].map((p) => new LabClient(p.hostSocket));
  const [one, two] = hosts as [LabClient, LabClient];
  const seconds = quick ? 2 : 5;
  const pings = quick ? 20 : 100;
  const connects = quick ? 3 : 8;
  const servers: ChildProcess[] = [];
  await labDown(paths).catch(() => undefined);
  log('cluster: bringing up a lab of two hosts');
  await labUp(paths, { hosts: 2 });
  try {
    await one.createNetwork({ name: 'bench', subnet: `${SUBNET}.0/24`, driver: 'overlay' });
    const server = await one.runContainer({ name: 'srv', network: 'bench' });
    const serverIp = server.attachments[0]?.ip ?? '';
    const clients = [
      { config: 'same-host', container: await one.runContainer({ name: 'c1', network: 'bench' }) },
      { config: 'cross-host', container: await two.runContainer({ name: 'c2', network: 'bench' }) },
    ];
    servers.push(await startIperfServer(server.namespace, IPERF_PORT));
    const figures: Figure[] = [];
    for (const { config, container } of clients) {
      log(`cluster: ${config}: ${pings} pings, iperf3 ${seconds} s`);
      // The first packets resolve ARP and the tunnel: warm up before measuring.
      await pingRtts(container.namespace, serverIp, { count: 3, intervalSeconds: 0.2 });
      const rtts = await pingRtts(container.namespace, serverIp, {
        count: pings,
        intervalSeconds: 0.05,
      });
      const summary = summarize(rtts);
      figures.push({
        suite: 'cluster',
        metric: 'ping container→container (overlay network)',
        config,
        unit: 'µs',
        better: 'lower',
        value: summary.p50,
        summary,
        params: { count: pings, mtu: 1400 },
        raw: rtts,
      });
      const tcp = await runIperfClient(container.namespace, serverIp, IPERF_PORT, { seconds });
      figures.push({
        suite: 'cluster',
        metric: 'TCP throughput (overlay network)',
        config,
        unit: 'Gbit/s',
        better: 'higher',
        value: tcp.bitsPerSecond / 1e9,
        params: { seconds, tool: 'iperf3 -P 1', mtu: 1400 },
      });
    }
    for (const [index, client] of hosts.entries()) {
      const config = `host ${index + 1}`;
      log(`cluster: ${connects} connects on ${config}`);
      const times: number[] = [];
      for (let i = 0; i < connects; i++) {
        const started = performance.now();
        await client.runContainer({ name: `t${index + 1}-${i}`, network: 'bench' });
        times.push(performance.now() - started);
      }
      const summary = summarize(times);
      figures.push({
        suite: 'cluster',
        metric: 'lab run on the overlay network (container VM + connect)',
        config,
        unit: 'ms',
        better: 'lower',
        value: summary.p50,
        summary,
        params: { runs: connects },
        raw: times,
      });
    }
    figures.push(await routedPingFigure(one, two, pings, log));
    figures.push(await deadChassisRestartFigure(paths, log));
    return figures;
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    await labDown(paths);
  }
}
