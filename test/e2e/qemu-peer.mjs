// The container side of test/e2e/offload-qemu.test.ts, run in a lab
// container's namespace. Exits by itself (bounded), so nothing outlives the test.
//   node qemu-peer.mjs serve <ip> <port>          echoes one connection, then exits
//   node qemu-peer.mjs dial <ip> <port> <bytes>   retries until the peer listens, sends
//                                                  <bytes> random bytes, prints a JSON result
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';

const [mode, ip, portText, bytesText] = process.argv.slice(2);
const port = Number(portText);
const deadline = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: 'timed out' })}\n`);
  process.exit(2);
}, 240_000);

if (mode === 'serve') {
  const server = createServer((socket) => {
    server.close();
    let echoed = 0;
    socket.on('data', (c) => {
      echoed += c.length;
      socket.write(c);
    });
    socket.on('end', () =>
      socket.end(() => {
        process.stdout.write(`${JSON.stringify({ ok: true, echoed })}\n`);
        clearTimeout(deadline);
      }),
    );
  });
  server.listen(port, ip, () => process.stdout.write('listening\n'));
} else {
  const data = randomBytes(Number(bytesText));
  const sha = (buf) => createHash('sha256').update(buf).digest('hex');
  const attempt = () => {
    const socket = connect({ host: ip, port });
    const chunks = [];
    socket.once('connect', () => socket.end(data));
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => {
      const back = Buffer.concat(chunks);
      const result = {
        ok: true,
        sent: data.length,
        received: back.length,
        intact: sha(back) === sha(data),
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      clearTimeout(deadline);
    });
    // Refused (the guest is not listening yet) or unreachable: try again shortly.
    socket.on('error', () => setTimeout(attempt, 500));
  };
  attempt();
}
