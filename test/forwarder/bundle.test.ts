import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arpRequest,
  type ForwarderProcess,
  FramePeer,
  isArpReply,
  Netns,
  repoRoot,
  run,
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
  let ns: Netns;
  let fwd: ForwarderProcess;

  beforeAll(async () => {
    await run(process.execPath, [join(repoRoot, 'vminit/build.mjs')], 120_000);
    install = mkdtempSync(`/tmp/${tag}-install-`);
    for (const file of ['forwarder.mjs', 'arca_vsock.node']) {
      copyFileSync(join(repoRoot, 'vminit/dist', file), join(install, file));
    }
    dir = mkdtempSync(`/tmp/${tag}-bundle-`);
    ns = await Netns.create(`${tag}-bn`);
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
});
