/** Unix sockets: listening on one, and readiness probes. */
import { rm } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { processAlive, waitFor } from './processes.js';

/** True when the Unix socket `path` accepts a connection within `timeoutMs`. */
export function socketAccepts(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Waits until the Unix socket `path` accepts, or until process `pid` (the
 * one to serve it) exits, for at most `timeoutMs`.
 */
export async function waitListening(
  pid: number,
  path: string,
  options: { timeoutMs: number; intervalMs: number; onTry?: () => void },
): Promise<'listening' | 'exited' | 'timeout'> {
  let exited = false;
  const ready = await waitFor(async () => {
    if (!(await processAlive(pid))) {
      exited = true;
      return true;
    }
    return socketAccepts(path);
  }, options);
  return exited ? 'exited' : ready ? 'listening' : 'timeout';
}

/** Listens with `server` on the Unix socket `path`, replacing a stale socket file there. */
export async function listenUnix(server: Server, path: string): Promise<void> {
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
