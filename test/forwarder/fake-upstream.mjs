// A fake upstream resolver for the forwarder's tests: the forwarder's own DNS
// server (@arca-net/dns) with one record (elsewhere.example → 192.0.2.53),
// authoritative, so every other name is NXDOMAIN. Usage: node fake-upstream.mjs HOST PORT
import { buildDnsTable, DnsServer } from '../../packages/dns/dist/index.js';

const [host = '127.0.0.53', port = '53'] = process.argv.slice(2);
const server = await DnsServer.start({ host, port: Number(port), authoritative: true });
server.setTable(
  buildDnsTable({
    upstream: {
      containers: [{ name: 'elsewhere.example', id: '', ipAddress: '192.0.2.53', aliases: [] }],
    },
  }),
);
process.stdout.write('ready\n');
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
