// One TCP exchange that reports addresses, for tests that need to see NAT:
//   node tcp-peer.mjs listen PORT   accepts one connection, answers "from <remote ip>\n",
//                                   exits; prints "listening" once bound, gives up after 30 s
//   node tcp-peer.mjs connect IP PORT  prints what the listener answered; exits 1 on failure
//                                      or after 5 s
import { createConnection, createServer } from 'node:net';

const [mode, a, b] = process.argv.slice(2);
if (mode === 'listen') {
  const server = createServer((socket) => {
    socket.end(`from ${socket.remoteAddress}\n`, () => server.close());
  });
  server.listen(Number(a), '0.0.0.0', () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(2), 30_000).unref();
} else if (mode === 'connect') {
  const socket = createConnection({ host: a, port: Number(b) });
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    answer += chunk;
  });
  socket.on('end', () => {
    process.stdout.write(answer);
    process.exit(0);
  });
  socket.on('error', (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  });
  setTimeout(() => {
    process.stderr.write('timed out\n');
    process.exit(1);
  }, 5_000);
} else {
  process.stderr.write('usage: tcp-peer.mjs listen PORT | connect IP PORT\n');
  process.exit(2);
}
