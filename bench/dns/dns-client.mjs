// Runs inside a container namespace: asks SERVER:53 for NAME COUNT times, one
// query at a time (UDP, or a new TCP connection per query as dig +tcp does),
// and prints the latencies (µs) and the rcodes as JSON.
// Usage: node dns-client.mjs SERVER NAME TYPE COUNT udp|tcp edns|noedns
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import dnsPacket from '../../packages/dns/node_modules/dns-packet/index.js';

const [server, name, type, count, transport, edns] = process.argv.slice(2);
const OPT = {
  type: 'OPT',
  name: '.',
  udpPayloadSize: 1232,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
};

function encode(id) {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
    additionals: edns === 'edns' ? [OPT] : [],
  });
}

const udp = createSocket('udp4');
await new Promise((resolve) => udp.bind(0, resolve));

function askUdp(id) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout asking ${name}`)), 5000);
    const onMessage = (message) => {
      if (message.readUInt16BE(0) !== id) return;
      clearTimeout(timer);
      udp.off('message', onMessage);
      resolve(message);
    };
    udp.on('message', onMessage);
    udp.send(encode(id), 53, server);
  });
}

function askTcp(id) {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout asking ${name}`));
    }, 5000);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      }
    });
    socket.connect(53, server, () => {
      const query = encode(id);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
  });
}

const latenciesUs = [];
const rcodes = {};
for (let i = 0; i < Number(count); i++) {
  const id = (i + 1) & 0xffff;
  const started = process.hrtime.bigint();
  const reply = await (transport === 'tcp' ? askTcp(id) : askUdp(id));
  latenciesUs.push(Number(process.hrtime.bigint() - started) / 1000);
  const rcode = dnsPacket.decode(reply).rcode;
  rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
}
udp.close();
process.stdout.write(`${JSON.stringify({ latenciesUs, rcodes })}\n`);
