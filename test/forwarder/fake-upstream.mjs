// A fake upstream resolver for the forwarder's tests: the forwarder's own DNS
// server with one record (elsewhere.example → 192.0.2.53) and no upstream, so
// every other name is NXDOMAIN. Usage: node fake-upstream.mjs HOST PORT
import { DnsServer } from '../../packages/forwarder/dist/dns/server.js';
import { buildDnsTable } from '../../packages/forwarder/dist/dns/table.js';

const [host = '127.0.0.53', port = '53'] = process.argv.slice(2);
const server = await DnsServer.start({ host, port: Number(port), upstreams: [] });
server.setTable(
  buildDnsTable({
    upstream: {
      containers: [{ name: 'elsewhere.example', id: '', ipAddress: '192.0.2.53', aliases: [] }],
    },
  }),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
