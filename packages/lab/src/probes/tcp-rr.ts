/**
 * TCP request/response rate: 1-byte ping-pong transactions over one
 * connection, like netperf's TCP_RR. Run as a script inside a namespace:
 *   node tcp-rr.js server PORT            (prints "listening" once bound)
 *   node tcp-rr.js client HOST PORT SECS  (prints {"transactions":n,"seconds":s})
 *   node tcp-rr.js connect HOST PORT SECS (one connection after another, each one
 *                                          1-byte round trip: {"transactions":n,"seconds":s})
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { inNamespace, runCommand } from '../command.js';

function serve(port: number): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  server.listen(port, () => process.stdout.write('listening\n'));
}

function client(host: string, port: number, seconds: number): void {
  const socket = net.connect({ host, port }, () => {
    socket.setNoDelay(true);
    const started = process.hrtime.bigint();
    const deadline = started + BigInt(Math.round(seconds * 1e9));
    let transactions = 0;
    const byte = Buffer.from([0x2a]);
    socket.on('data', (chunk) => {
      transactions += chunk.length;
      const now = process.hrtime.bigint();
      if (now >= deadline) {
        process.stdout.write(
          `${JSON.stringify({ transactions, seconds: Number(now - started) / 1e9 })}\n`,
        );
        socket.destroy();
        return;
      }
      socket.write(byte);
    });
    socket.write(byte);
  });
  socket.on('error', (error) => {
    process.stderr.write(`tcp-rr client: ${error.message}\n`);
    process.exit(1);
  });
}

/** Sequential connections, each a 1-byte round trip and a close (connection rate). */
function connectLoop(host: string, port: number, seconds: number): void {
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  let transactions = 0;
  const next = (): void => {
    const now = process.hrtime.bigint();
    if (now >= deadline) {
      process.stdout.write(
        `${JSON.stringify({ transactions, seconds: Number(now - started) / 1e9 })}\n`,
      );
      return;
    }
    const socket = net.connect({ host, port }, () => socket.write(Buffer.from([0x2a])));
    socket.setNoDelay(true);
    socket.once('data', () => {
      transactions++;
      socket.end();
    });
    socket.once('close', next);
    socket.on('error', (error) => {
      process.stderr.write(`tcp-rr connect: ${error.message}\n`);
      process.exit(1);
    });
  };
  next();
}

const scriptPath = fileURLToPath(import.meta.url);

/** Starts the echo side in `ns`; resolves once it listens. */
export async function startRrServer(ns: string | undefined, port: number): Promise<ChildProcess> {
  const [file, ...args] = inNamespace(ns, [process.execPath, scriptPath, 'server', String(port)]);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('tcp-rr server did not start in 10 s')),
      10_000,
    );
    child.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`tcp-rr server exited with ${code}`)));
  });
  return child;
}

/**
 * Transactions per second of a client in `ns` against `host`:`port`: over one
 * connection, or (`connect`) each on a new connection (connections per second).
 */
export async function tcpRrRate(
  ns: string | undefined,
  host: string,
  port: number,
  seconds: number,
  mode: 'client' | 'connect' = 'client',
): Promise<number> {
  const argv = inNamespace(ns, [
    process.execPath,
    scriptPath,
    mode,
    host,
    String(port),
    String(seconds),
  ]);
  const { stdout } = await runCommand(argv, { timeoutMs: (seconds + 30) * 1000 });
  const result = JSON.parse(stdout) as { transactions: number; seconds: number };
  return result.transactions / result.seconds;
}

if (process.argv[1] === scriptPath) {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'server') serve(Number(a));
  else if (mode === 'client') client(a!, Number(b), Number(c));
  else if (mode === 'connect') connectLoop(a!, Number(b), Number(c));
  else {
    process.stderr.write('usage: tcp-rr.js server PORT | client|connect HOST PORT SECONDS\n');
    process.exit(2);
  }
}
