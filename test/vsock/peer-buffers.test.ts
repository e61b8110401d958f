import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkNamespace } from '../../packages/lab/dist/index.js';
import { raisePacketReceiveBuffers, VsockError } from '../../packages/vsock/dist/index.js';

/**
 * Needs root. raisePacketReceiveBuffers on another process's AF_PACKET socket (what the
 * controller does to ovs-vswitchd's port sockets): a tcpdump on `lo` of a namespace of its own
 * (prefix avp) holds one; `ss -0 -m` shows its buffer before and after.
 */
const id = `avp${process.pid % 100000}`;
let ns: NetworkNamespace;
let tcpdump: ChildProcess;

/** SO_RCVBUF of every packet socket in the namespace, as `ss -0 -m` shows it (rb…). */
async function packetRcvbufs(): Promise<number[]> {
  const out = (await ns.run(['ss', '-0', '-a', '-m'])).stdout;
  return [...out.matchAll(/rb(\d+)/g)].map((m) => Number(m[1]));
}

beforeAll(async () => {
  ns = await NetworkNamespace.create(`${id}n`);
  await ns.ip(['link', 'set', 'lo', 'up']);
  tcpdump = spawn('ip', ['netns', 'exec', ns.name, 'tcpdump', '-i', 'lo', '-n', '-l'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    tcpdump.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('listening on')) resolve();
    });
    tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited ${code}: ${err}`)));
  });
});

afterAll(async () => {
  tcpdump?.kill('SIGKILL');
  await ns?.delete();
});

describe('raisePacketReceiveBuffers', () => {
  it("raises another process's AF_PACKET socket buffer, once", async () => {
    const bytes = 8 * 1024 * 1024;
    expect(Math.max(...(await packetRcvbufs()))).toBeLessThan(bytes);
    expect(raisePacketReceiveBuffers(tcpdump.pid!, bytes)).toBeGreaterThanOrEqual(1);
    expect(await packetRcvbufs()).toContain(bytes);
    // Already there: nothing to change.
    expect(raisePacketReceiveBuffers(tcpdump.pid!, bytes)).toBe(0);
  });

  it('names the errno when the process does not exist', () => {
    const missing = 0x3ffffff0;
    expect(() => raisePacketReceiveBuffers(missing)).toThrow(VsockError);
    try {
      raisePacketReceiveBuffers(missing);
    } catch (error) {
      expect((error as VsockError).code).toBe('ESRCH');
    }
  });
});
