import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@arca-net/log';
import { OVS_PORT_RCVBUF } from '@arca-net/vsock';
import { afterEach, describe, expect, it } from 'vitest';
import { ovsPortRcvbuf, raiseOvsPortBuffers } from '../src/ovs/port-buffers.js';

describe('ovsPortRcvbuf', () => {
  it('is 8 MiB unless ARCA_OVS_PORT_RCVBUF says otherwise; 0 turns it off', () => {
    expect(ovsPortRcvbuf({})).toBe(OVS_PORT_RCVBUF);
    expect(OVS_PORT_RCVBUF).toBe(8 * 1024 * 1024);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: '0' })).toBe(0);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: '4194304' })).toBe(4194304);
    expect(ovsPortRcvbuf({ ARCA_OVS_PORT_RCVBUF: 'lots' })).toBe(OVS_PORT_RCVBUF);
  });
});

describe('raiseOvsPortBuffers', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is best effort: no ovs-vswitchd pidfile changes nothing and throws nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'port-buffers-'));
    await expect(raiseOvsPortBuffers(dir, silentLogger)).resolves.toBe(0);
  });
});
