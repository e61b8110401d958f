/**
 * A UDP echo, for published UDP ports. Run as a script inside a namespace:
 *   node udp-echo.js server PORT          (prints "listening" once bound)
 *   node udp-echo.js client HOST PORT MSG (prints the reply; exit 1 without one in 3 s)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { inNamespace, tryCommand } from '../command.js';

function serve(port: number): void {
  const socket = createSocket('udp4');
  socket.on('message', (msg, peer) => socket.send(msg, peer.port, peer.address));
  socket.bind(port, () => process.stdout.write('listening\n'));
}

function client(host: string, port: number, message: string): void {
  const socket = createSocket('udp4');
  const timer = setTimeout(() => {
    process.stderr.write(`udp-echo client: no reply from ${host}:${port} in 3 s\n`);
    process.exit(1);
  }, 3000);
  socket.on('message', (msg) => {
    clearTimeout(timer);
    process.stdout.write(`${msg.toString()}\n`);
    socket.close();
  });
  socket.send(message, port, host);
}

const scriptPath = fileURLToPath(import.meta.url);

/** Starts the echo in `ns`; resolves once it is bound. */
export async function startUdpEcho(ns: string | undefined, port: number): Promise<ChildProcess> {
  const [file, ...args] = inNamespace(ns, [process.execPath, scriptPath, 'server', String(port)]);
  const child = spawn(file ?? 'ip', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('udp echo did not start in 10 s')), 10_000);
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`udp echo exited with ${code}`)));
  });
  return child;
}

/** Sends `message` from `ns` to host:port; resolves with the reply, or undefined when none came. */
export async function udpEcho(
  ns: string | undefined,
  host: string,
  port: number,
  message: string,
): Promise<string | undefined> {
  const argv = inNamespace(ns, [
    process.execPath,
    scriptPath,
    'client',
    host,
    String(port),
    message,
  ]);
  const result = await tryCommand(argv, { timeoutMs: 10_000 });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

if (process.argv[1] === scriptPath) {
  const [mode, a, b, c] = process.argv.slice(2);
  if (mode === 'server') serve(Number(a));
  else if (mode === 'client') client(a ?? '', Number(b), c ?? '');
}
