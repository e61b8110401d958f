import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectForwarder } from '../../packages/forwarder/dist/client.js';
import { NetworkNamespace, runCommand } from '../../packages/lab/dist/index.js';
import { reflect } from '../grpc-ecosystem.js';
import {
  arpRequest,
  type ForwarderProcess,
  FramePeer,
  isArpReply,
  repoRoot,
  startForwarderProcess,
} from './harness.js';

/**
 * The vminit bundle (issue 5): `vminit/dist/forwarder.mjs` plus the addon,
 * copied alone into an empty directory (no node_modules anywhere near), starts,
 * serves health and relays frames of a TAP it creates.
 */
const tag = `anf${process.pid % 100_000}`;

describe('vminit bundle', () => {
  let install: string;
  let dir: string;
  let ns: NetworkNamespace;
  let fwd: ForwarderProcess;

  beforeAll(async () => {
    await runCommand([process.execPath, join(repoRoot, 'vminit/build.mjs')], {
      timeoutMs: 120_000,
    });
    install = mkdtempSync(`/tmp/${tag}-install-`);
    for (const file of ['forwarder.mjs', 'arca_vsock.node', 'arca-net.binpb']) {
      copyFileSync(join(repoRoot, 'vminit/dist', file), join(install, file));
    }
    dir = mkdtempSync(`/tmp/${tag}-bundle-`);
    ns = await NetworkNamespace.create(`${tag}-bn`);
    fwd = await startForwarderProcess(ns, dir, ['--dns', 'off'], join(install, 'forwarder.mjs'));
  });

  afterAll(async () => {
    await fwd?.stop();
    await ns?.delete();
    for (const path of [install, dir]) if (path) rmSync(path, { recursive: true, force: true });
  });

  it('starts standalone and serves health and GetStatus over its unixdir socket', async () => {
    expect(await fwd.connection.isServing()).toBe(true);
    expect((await fwd.client.getStatus({})).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('serves reflection v1alpha from the descriptor set beside it', async () => {
    expect(await reflect(join(dir, '5555.sock'), 'v1alpha')).toEqual({
      services: ['arca.tapforwarder.v1.TAPForwarder', 'grpc.health.v1.Health'],
      described: { 'arca.tapforwarder.v1.TAPForwarder': true, 'grpc.health.v1.Health': true },
    });
  });

  it('loads the addon beside it: attaches a TAP and relays frames', async () => {
    await fwd.client.attachNetwork({
      device: 'eth0',
      vsockPort: 20021,
      ipAddress: '198.51.100.5',
      gateway: '',
      netmask: 24,
      macAddress: '02:00:5e:30:00:01',
      defaultRoute: false,
      mtu: 0,
    });
    const peer = await FramePeer.connect(join(dir, '20021.sock'));
    try {
      peer.send(arpRequest('02:00:5e:99:00:01', '198.51.100.1', '198.51.100.5'));
      await peer.waitFor((f) => isArpReply(f, '02:00:5e:99:00:01', '198.51.100.5'));
    } finally {
      peer.close();
    }
  });

  it('the launcher restarts a forwarder killed with SIGKILL, and SIGTERM stops both', async () => {
    const launched = mkdtempSync(`/tmp/${tag}-supervised-`);
    const proc = spawn(
      'ip',
      ['netns', 'exec', ns.name, join(repoRoot, 'vminit/arca-net-forwarder'), '--dns', 'off'],
      {
        env: {
          ...process.env,
          NODE: process.execPath,
          ARCA_NET_FORWARDER_DIR: install,
          ARCA_NET_FORWARDER_LISTEN: `unixdir:${launched}`,
        },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    const childOf = async (): Promise<number> => {
      const text = await readFile(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').catch(
        () => '',
      );
      return Number(text.trim().split(/\s+/)[0] ?? 0);
    };
    const servingUnder = async (old: number): Promise<number> => {
      for (const until = Date.now() + 20_000; Date.now() < until; ) {
        const pid = await childOf();
        const connection = connectForwarder(join(launched, '5555.sock'));
        const serving = await connection.isServing().catch(() => false);
        connection.close();
        if (serving && pid > 0 && pid !== old) return pid;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return 0;
    };
    try {
      const first = await servingUnder(0);
      expect(first).toBeGreaterThan(0);
      process.kill(first, 'SIGKILL');
      const second = await servingUnder(first);
      expect(second).toBeGreaterThan(0);
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
      expect(() => process.kill(second, 0)).toThrow();
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(launched, { recursive: true, force: true });
    }
  });

  it('the launcher (vminit/arca-net-forwarder) starts the installed bundle and it serves health', async () => {
    const launched = mkdtempSync(`/tmp/${tag}-launcher-`);
    const proc = spawn(
      'ip',
      ['netns', 'exec', ns.name, join(repoRoot, 'vminit/arca-net-forwarder'), '--dns', 'off'],
      {
        env: {
          ...process.env,
          NODE: process.execPath,
          ARCA_NET_FORWARDER_DIR: install,
          ARCA_NET_FORWARDER_LISTEN: `unixdir:${launched}`,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const connection = connectForwarder(join(launched, '5555.sock'));
    try {
      const until = Date.now() + 20_000;
      let serving = false;
      while (!serving && proc.exitCode === null && Date.now() < until) {
        serving = await connection.isServing().catch(() => false);
        if (!serving) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(serving, stderr).toBe(true);
      // The launcher exports JSON logs and the addon path beside the bundle.
      expect(stderr).toContain('"level"');
    } finally {
      connection.close();
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
      rmSync(launched, { recursive: true, force: true });
    }
  });
});
