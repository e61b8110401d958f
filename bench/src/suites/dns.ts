/**
 * DNS latency on every path a guest may be given, per query type: the
 * container VM's embedded resolver (127.0.0.11, the forwarder) and the
 * network's resolver in the helper that DHCP leases name (reached through the
 * relays and OVS). One query at a time from a container namespace
 * (bench/dns/dns-client.mjs, µs from send to reply); unknown names are
 * forwarded to the lab's fake upstream (203.0.113.53 behind the outside world).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inNamespace, runCommand } from '@arca-net/lab';
import type { PathLab } from '../configs/lab.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';

const client = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'dns',
  'dns-client.mjs',
);

/** The bench network's resolver in the helper: its highest host address (198.18.0.0/24). */
const HELPER_RESOLVER = '198.18.0.254';

interface Query {
  metric: string;
  name: (peer: { name: string; ip: string }) => string;
  type: string;
  transport: 'udp' | 'tcp';
  edns: boolean;
  rcode: string;
}

const QUERIES: Query[] = [
  {
    metric: 'A known',
    name: (p) => p.name,
    type: 'A',
    transport: 'udp',
    edns: false,
    rcode: 'NOERROR',
  },
  {
    metric: 'A known, EDNS',
    name: (p) => p.name,
    type: 'A',
    transport: 'udp',
    edns: true,
    rcode: 'NOERROR',
  },
  {
    metric: 'A known, TCP',
    name: (p) => p.name,
    type: 'A',
    transport: 'tcp',
    edns: false,
    rcode: 'NOERROR',
  },
  {
    metric: 'AAAA known (NODATA)',
    name: (p) => p.name,
    type: 'AAAA',
    transport: 'udp',
    edns: true,
    rcode: 'NOERROR',
  },
  {
    metric: 'A name.network',
    name: (p) => `${p.name}.bench`,
    type: 'A',
    transport: 'udp',
    edns: true,
    rcode: 'NOERROR',
  },
  {
    metric: 'PTR known',
    name: (p) => `${p.ip.split('.').reverse().join('.')}.in-addr.arpa`,
    type: 'PTR',
    transport: 'udp',
    edns: true,
    rcode: 'NOERROR',
  },
  {
    metric: 'A unknown (forwarded)',
    name: () => 'www.example.com',
    type: 'A',
    transport: 'udp',
    edns: true,
    rcode: 'NOERROR',
  },
];

/** p50/p99 of each query type on each path, from a lab container of `pathLab`. */
export async function runDnsSuite(
  pathLab: PathLab,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const count = quick ? 100 : 500;
  const { lab } = pathLab;
  const a = await lab.runContainer('dns-a', 'bench', { ip: '198.18.0.20' });
  await lab.runContainer('dns-b', 'bench', { ip: '198.18.0.21' });
  const peer = { name: 'dns-b', ip: '198.18.0.21' };
  const figures: Figure[] = [];
  try {
    for (const [config, server] of [
      ['127.0.0.11 (container)', '127.0.0.11'],
      ['DHCP resolver (helper)', HELPER_RESOLVER],
    ] as const) {
      for (const q of QUERIES) {
        const argv = [process.execPath, client, server, q.name(peer), q.type, String(count)];
        argv.push(q.transport, q.edns ? 'edns' : 'noedns');
        // Warm-up (ARP, flows, the upstream's path), not counted.
        await runCommand(inNamespace(a.namespace, [...argv.slice(0, 4), '5', ...argv.slice(5)]));
        const out = await runCommand(inNamespace(a.namespace, argv), { timeoutMs: 300_000 });
        const result = JSON.parse(out.stdout) as {
          latenciesUs: number[];
          rcodes: Record<string, number>;
        };
        if ((result.rcodes[q.rcode] ?? 0) !== count) {
          throw new Error(`dns: ${config} ${q.metric}: rcodes ${JSON.stringify(result.rcodes)}`);
        }
        const summary = summarize(result.latenciesUs);
        log(
          `dns: ${config} ${q.metric}: p50 ${summary.p50.toFixed(0)} µs, p99 ${summary.p99.toFixed(0)} µs`,
        );
        figures.push({
          suite: 'dns',
          metric: q.metric,
          config,
          unit: 'µs',
          better: 'lower',
          value: summary.p50,
          summary,
          params: { queries: count, transport: q.transport, edns: q.edns },
          raw: result.latenciesUs,
        });
      }
    }
  } finally {
    await lab.removeContainers('dns-a', 'dns-b');
  }
  return figures;
}
