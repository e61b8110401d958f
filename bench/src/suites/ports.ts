/**
 * Published ports (`lab run -p`) beside the direct path, on a lab of its own:
 * one server container (iperf3 and a 1-byte echo) published on two host
 * ports, and three clients:
 *
 * - `direct`: another container on the same network, to the server's own
 *   address (relays and OVS only);
 * - `published-host`: the host's loopback to the published port (the host
 *   forwarder, a stream over the helper's vsock port 9998, the helper's
 *   forwarder, the load balancer, then the direct path);
 * - `published-outside`: the lab's outside namespace to the network's
 *   external address (the load balancer only: no host forwarder).
 *
 * Figures: TCP throughput (iperf3), connection rate (a new connection per
 * 1-byte round trip) and request/response rate over one connection.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import {
  LabPaths,
  runIperfClient,
  startIperfServer,
  startRrServer,
  tcpRrRate,
} from '@arca-net/lab';
import type { Figure } from '../figures.js';
import { BenchLab } from '../tools/lab.js';

const SUBNET = '198.18.0';
const IPERF_PORT = 5201;
const ECHO_PORT = 7000;

/** A port the kernel has free now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The ports suite: brings its lab up and down itself. */
export async function runPortsSuite(
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const location = { dir: '/run/arca-net/bench-lab-ports', prefix: 'anbprt' };
  const lab = new BenchLab(location);
  const outside = new LabPaths(location).outsideNamespace;
  const seconds = quick ? 2 : 5;
  const servers: ChildProcess[] = [];
  await lab.down().catch(() => undefined);
  log('ports: bringing up a lab');
  await lab.up('native');
  try {
    await lab.createNetwork({ name: 'bench', subnet: `${SUBNET}.0/24` });
    const [iperfHost, echoHost] = [await freePort(), await freePort()];
    const server = await lab.host.runContainer({
      name: 'bench-srv',
      network: 'bench',
      ip: `${SUBNET}.10`,
      publish: [`${iperfHost}:${IPERF_PORT}`, `${echoHost}:${ECHO_PORT}`],
    });
    const client = await lab.runContainer('bench-cli', 'bench', { ip: `${SUBNET}.11` });
    servers.push(await startIperfServer(server.namespace, IPERF_PORT));
    servers.push(await startRrServer(server.namespace, ECHO_PORT));
    const external = (hostPort: number) =>
      (server.ports.find((p) => p.hostPort === hostPort)?.externalAddress ?? '').split(':')[0] ??
      '';
    const paths = [
      {
        config: 'direct',
        ns: client.namespace,
        host: `${SUBNET}.10`,
        iperf: IPERF_PORT,
        echo: ECHO_PORT,
      },
      {
        config: 'published-host',
        ns: undefined,
        host: '127.0.0.1',
        iperf: iperfHost,
        echo: echoHost,
      },
      {
        config: 'published-outside',
        ns: outside,
        host: external(iperfHost),
        iperf: iperfHost,
        echo: echoHost,
      },
    ];
    const figures: Figure[] = [];
    for (const p of paths) {
      log(`ports: ${p.config}: iperf3 ${seconds} s, connection rate, request/response rate`);
      const tcp = await runIperfClient(p.ns, p.host, p.iperf, { seconds });
      const params = { target: `${p.host}:${p.iperf}/${p.echo}`, seconds };
      figures.push({
        suite: 'ports',
        metric: 'TCP throughput',
        config: p.config,
        unit: 'Gbit/s',
        better: 'higher',
        value: tcp.bitsPerSecond / 1e9,
        params: { ...params, tool: 'iperf3 -P 1' },
      });
      const connections = await tcpRrRate(p.ns, p.host, p.echo, seconds, 'connect');
      figures.push({
        suite: 'ports',
        metric: 'TCP connections (connect, 1-byte round trip, close)',
        config: p.config,
        unit: 'conn/s',
        better: 'higher',
        value: connections,
        params,
      });
      const rr = await tcpRrRate(p.ns, p.host, p.echo, seconds);
      figures.push({
        suite: 'ports',
        metric: 'TCP request/response (1 byte, one connection)',
        config: p.config,
        unit: 'trans/s',
        better: 'higher',
        value: rr,
        params,
      });
    }
    return figures;
  } finally {
    for (const s of servers) s.kill('SIGKILL');
    await lab.down();
  }
}
