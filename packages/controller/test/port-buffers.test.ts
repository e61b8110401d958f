import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger, silentLogger } from '@arca-net/log';
import { OVS_PORT_RCVBUF } from '@arca-net/vsock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ovsPortRcvbuf, raiseOvsPortBuffers } from '../src/ovs/port-buffers.js';
import { VswitchdRestarts } from '../src/ovs/vswitchd-restarts.js';

describe('ovsPortRcvbuf', () => {
  it('is 8 MiB unless ARCA_OVS_PORT_RCVBUF says otherwise; 0 turns it off', () => {
    expect(ovsPortRcvbuf({})).toBe(OVS_PORT_RCVBUF);
    expect(OVS_PORT_RCVBUF).toBe(8 * 1024 * 1024);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: '0' })).toBe(0);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: '4194304' })).toBe(4194304);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: 'lots' })).toBe(OVS_PORT_RCVBUF);
  });
});

/** A run directory of the test's own, removed after each test. */
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('raiseOvsPortBuffers', () => {
  it('is best effort: no ovs-vswitchd pidfile changes nothing and throws nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'port-buffers-'));
    await expect(raiseOvsPortBuffers(dir, silentLogger)).resolves.toBe(0);
  });
});

describe('VswitchdRestarts', () => {
  it('acts on a new pid in ovs-vswitchd.pid, not on the one it started with', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vswitchd-restarts-'));
    writeFileSync(join(dir, 'ovs-vswitchd.pid'), `${process.pid}\n`);
    let out = '';
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const restarts = await VswitchdRestarts.start({
      runDir: dir,
      log: createLogger({ destination, level: 'info' }),
      systemPorts: async () => 0,
    });
    expect(restarts).toBeDefined();
    // A process with no packet socket stands in for the new daemon: nothing to raise, logged.
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(join(dir, 'ovs-vswitchd.pid'), `${child.pid}\n`);
      await vi.waitFor(() => expect(out).toContain(`"vswitchd":${child.pid}`), { timeout: 5000 });
      await restarts?.settled();
      expect(out).not.toContain(`"vswitchd":${process.pid}`);
      expect(out).toMatch(/"previous":\d+/);
    } finally {
      restarts?.close();
      child.kill('SIGKILL');
    }
  });
});
