// Runs inside the QEMU guest of test/e2e/offload-qemu.test.ts (busybox, node,
// virtio_net loaded; the NIC is QEMU's `-netdev stream`, plain framing, plugged
// into a helper data port of a lab). Prints one `ARCA-VSOCK-RESULT {json}` line
// per check; every check is bounded by a timeout.
//
// usage: node net-guest.mjs <net.json>
//   net.json: { ip, prefix, mac, peer, peerPort, listenPort, bytes }

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function report(result) {
  process.stdout.write(`ARCA-VSOCK-RESULT ${JSON.stringify(result)}\n`);
}

async function check(name, timeoutMs, fn) {
  let timer;
  const started = Date.now();
  try {
    const details = await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    report({ check: name, ok: true, ms: Date.now() - started, ...details });
  } catch (err) {
    report({
      check: name,
      ok: false,
      ms: Date.now() - started,
      error: String(err?.message ?? err),
    });
  } finally {
    clearTimeout(timer);
  }
}

const sha = (buf) => createHash('sha256').update(buf).digest('hex');

/** Sends `data` on `socket`, half-closes, and resolves with everything the peer sent back. */
function exchange(socket, data) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
    socket.end(data);
  });
}

let iface = '';
await check('link', 20_000, async () => {
  iface = readdirSync('/sys/class/net').find((n) => n !== 'lo') ?? '';
  if (!iface) throw new Error('no network interface besides lo');
  const mac = readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim();
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  execFileSync('ip', ['link', 'set', iface, 'up']);
  execFileSync('ip', ['addr', 'add', `${config.ip}/${config.prefix}`, 'dev', iface]);
  return { iface, mac };
});

await check('ping', 60_000, async () => {
  // busybox ping: stops after 3 replies or at the 45 s deadline (ARP and the first flows may take a while under TCG).
  let out = '';
  try {
    out = execFileSync('ping', ['-c', '3', '-w', '45', config.peer], { encoding: 'utf8' });
  } catch (err) {
    out = String(err.stdout ?? '');
  }
  const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec(out);
  return {
    transmitted: Number(m?.[1] ?? 0),
    received: Number(m?.[2] ?? 0),
    output: out.slice(-300),
  };
});

// The guest dials the container's echo server: guest → container and back.
await check('tcp-dial', 60_000, async () => {
  const data = randomBytes(config.bytes);
  const socket = connect({ host: config.peer, port: config.peerPort });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const back = await exchange(socket, data);
  return { sent: data.length, received: back.length, intact: sha(back) === sha(data) };
});

// The container dials the guest: the guest echoes one connection.
await check('tcp-accept', 90_000, async () => {
  const server = createServer();
  await new Promise((resolve) => server.listen(config.listenPort, config.ip, resolve));
  report({ check: 'listening', ok: true, port: config.listenPort });
  const socket = await new Promise((resolve) => server.once('connection', resolve));
  server.close();
  const from = socket.remoteAddress;
  let echoed = 0;
  await new Promise((resolve, reject) => {
    socket.on('data', (c) => {
      echoed += c.length;
      socket.write(c);
    });
    socket.on('end', () => socket.end(resolve));
    socket.on('error', reject);
  });
  return { echoed, from };
});
