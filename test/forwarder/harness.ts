/**
 * Helpers of the forwarder's integration tests: network namespaces, the
 * forwarder process inside one, gRPC clients over its unixdir socket, and
 * length-prefixed Ethernet frames on a data port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectForwarder, type ForwarderClient } from '../../packages/forwarder/dist/client.js';
import { inNamespace, type NetworkNamespace } from '../../packages/lab/dist/index.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const forwarderMain = join(repoRoot, 'packages/forwarder/dist/main.js');

/** What `ip -j ARGS…` says about namespace `ns`, parsed. */
export async function ipJson(ns: NetworkNamespace, args: string[]): Promise<unknown[]> {
  return JSON.parse((await ns.ip(['-j', ...args])).stdout || '[]') as unknown[];
}

/** The names of the interfaces of namespace `ns`. */
export async function linkNames(ns: NetworkNamespace): Promise<string[]> {
  return ((await ipJson(ns, ['link', 'show'])) as { ifname: string }[]).map((l) => l.ifname);
}

/** A forwarder process started by a test. */
export interface ForwarderProcess {
  proc: ChildProcess;
  connection: ForwarderClient;
  client: ForwarderClient['forwarder'];
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `node <main> --listen unixdir:DIR …` inside `ns` (DIR made if need be) and waits for health SERVING. */
export async function startForwarderProcess(
  ns: NetworkNamespace | undefined,
  dir: string,
  args: string[] = [],
  main = forwarderMain,
  env: NodeJS.ProcessEnv = {},
): Promise<ForwarderProcess> {
  mkdirSync(dir, { recursive: true });
  const [file, ...argv] = inNamespace(ns?.name, [
    ...[process.execPath, main, '--listen', `unixdir:${dir}`],
    ...args,
  ]);
  const proc = spawn(file ?? process.execPath, argv, {
    env: { ...process.env, ARCA_NET_LOG_FORMAT: 'json', ...env },
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const socketPath = join(dir, '5555.sock');
  const connection = connectForwarder(socketPath);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`forwarder exited: ${stderr}`);
    if (existsSync(socketPath) && (await connection.isServing())) break;
    if (Date.now() > deadline) throw new Error(`forwarder did not become healthy: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    proc,
    connection,
    client: connection.forwarder,
    stderr: () => stderr,
    async stop() {
      connection.close();
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Reads length-prefixed frames from a data-port connection. */
export class FramePeer {
  private buffered = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUInt32BE(0);
        if (this.buffered.length < 4 + length) break;
        this.frames.push(this.buffered.subarray(4, 4 + length));
        this.buffered = this.buffered.subarray(4 + length);
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Connects to the Unix socket of a data port. */
  static connect(path: string): Promise<FramePeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(path, () => resolve(new FramePeer(socket)));
      socket.once('error', reject);
    });
  }

  send(frame: Buffer): void {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(frame.length);
    this.socket.write(Buffer.concat([prefix, frame]));
  }

  /** Waits for the first frame (received so far or later) that `match` accepts. */
  async waitFor(match: (frame: Buffer) => boolean, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching frame arrived');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export const macBytes = (mac: string) => Buffer.from(mac.replaceAll(':', ''), 'hex');
export const ipBytes = (ip: string) => Buffer.from(ip.split('.').map(Number));

/** An Ethernet broadcast ARP request "who has `targetIp`? tell `senderIp`". */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  return Buffer.concat([
    Buffer.alloc(6, 0xff),
    macBytes(senderMac),
    Buffer.from([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]),
    macBytes(senderMac),
    ipBytes(senderIp),
    Buffer.alloc(6),
    ipBytes(targetIp),
  ]);
}

/** Whether `frame` is an ARP reply from `senderIp` to `toMac`. */
export function isArpReply(frame: Buffer, toMac: string, senderIp: string): boolean {
  return (
    frame.length >= 42 &&
    frame.subarray(0, 6).equals(macBytes(toMac)) &&
    frame.readUInt16BE(12) === 0x0806 &&
    frame.readUInt16BE(20) === 2 &&
    frame.subarray(28, 32).equals(ipBytes(senderIp))
  );
}
