import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@arca-net/log';
import { parseListenAddress, startRpcServer } from '@arca-net/rpc';
import { afterEach, describe, expect, it } from 'vitest';
import { checkControllerHealth } from '../src/health-check.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A gRPC server with health on `unixdir:DIR` (gRPC on DIR/9999.sock), as the controller's. */
async function serverIn(dir: string) {
  return startRpcServer({
    listen: parseListenAddress(`unixdir:${dir}`, 9999),
    name: 'controller',
    services: [],
    errorStatus: () => undefined,
    logger: silentLogger,
  });
}

describe('arca-net-controller --health-check', () => {
  it('says SERVING for a serving controller on unixdir, and fails once it is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arca-health-check-'));
    dirs.push(dir);
    const server = await serverIn(dir);
    expect(await checkControllerHealth(`unixdir:${dir}`)).toBe('SERVING');
    await server.close();
    await expect(checkControllerHealth(`unixdir:${dir}`, 1000)).rejects.toThrow();
  });

  it('refuses a listen address that does not parse', async () => {
    await expect(checkControllerHealth('tcp:203.0.113.9:9999')).rejects.toThrow(/expected vsock/);
  });
});
