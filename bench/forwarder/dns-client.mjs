// Runs inside the forwarder's namespace: asks SERVER:PORT for NAME (type A)
// COUNT times, one query at a time over UDP, and prints the latencies (µs) as JSON.
// Usage: node dns-client.mjs SERVER PORT NAME COUNT
import { createSocket } from 'node:dgram';
import dnsPacket from '../../packages/forwarder/node_modules/dns-packet/index.js';

const [server = '127.0.0.11', port = '53', name = 'web', count = '200'] = process.argv.slice(2);
const socket = createSocket('udp4');
await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
const latencies = [];
const rcodes = {};
for (let i = 0; i < Number(count); i++) {
  const query = dnsPacket.encode({
    type: 'query',
    id: i & 0xffff,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name }],
  });
  const started = process.hrtime.bigint();
  const reply = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout asking ${name}`)), 5000);
    socket.once('message', (message) => {
      clearTimeout(timer);
      resolve(message);
    });
    socket.send(query, Number(port), server);
  });
  latencies.push(Number(process.hrtime.bigint() - started) / 1000);
  const rcode = dnsPacket.decode(reply).rcode;
  rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
}
socket.close();
process.stdout.write(`${JSON.stringify({ name, latenciesUs: latencies, rcodes })}\n`);
