/**
 * The helper VM image's contents (`make helpervm`): the controller bundle, the
 * addon and the descriptor set, copied alone into an empty directory with the
 * launcher, run by helpervm/startup.sh as the image's entrypoint runs it.
 * Serves health and reflection and drives OVN. Needs root (a network namespace).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectController } from '../../packages/controller/dist/index.js';
import { inNamespace, NetworkNamespace, runCommand } from '../../packages/lab/dist/index.js';
import type { network } from '../../packages/proto/dist/index.js';
import { reflect } from '../grpc-ecosystem.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const startupScript = join(root, 'helpervm/startup.sh');
let ns: NetworkNamespace | undefined;
let install: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let helper: ChildProcess;
let stderr = '';
let conn: ReturnType<typeof connectController>;
let client: network.NetworkControlClient;

beforeAll(async () => {
  await runCommand([process.execPath, join(root, 'helpervm/build.mjs')], { timeoutMs: 120_000 });
  install = mkdtempSync('/tmp/arca-helpervm-install-');
  for (const file of ['dist/controller.mjs', 'dist/arca_vsock.node', 'dist/arca-net.binpb']) {
    copyFileSync(join(root, 'helpervm', file), join(install, file.slice('dist/'.length)));
  }
  copyFileSync(join(root, 'helpervm/arca-net-controller'), join(install, 'arca-net-controller'));
  dir = mkdtempSync('/tmp/arca-helpervm-');
  env = {
    ...process.env,
    ARCA_HELPER_STATE: join(dir, 'state'),
    ARCA_HELPER_RUN: join(dir, 'run'),
    ARCA_CONTROLLER_LISTEN: `unixdir:${join(dir, 'vm')}`,
    ARCA_CONTROLLER_CMD: join(install, 'arca-net-controller'),
    ARCA_NET_CONTROLLER_DIR: install,
  };
  ns = await NetworkNamespace.create(`ahv${process.pid % 100000}`);
  const [ip, ...args] = inNamespace(ns.name, [startupScript, 'run']);
  helper = spawn(ip ?? 'ip', args, {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  helper.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  conn = connectController(join(dir, 'vm', '9999.sock'));
  client = conn.client;
  const until = Date.now() + 60_000;
  for (;;) {
    const up = await client.getHealth({}).then(
      (h) => h.healthy,
      () => false,
    );
    if (up) break;
    if (helper.exitCode !== null || Date.now() > until) {
      throw new Error(`the bundled controller did not come up:\n${stderr.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  conn?.close();
  if (env) await ns?.try([startupScript, 'stop'], { env });
  await ns?.delete();
  for (const path of [install, dir]) if (path) rmSync(path, { recursive: true, force: true });
});

describe('helper VM bundle', () => {
  it('startup.sh runs the bundled controller through its launcher, which reports healthy OVS and OVN', async () => {
    const health = await client.getHealth({});
    expect(health).toMatchObject({ healthy: true });
    expect(stderr).toContain(`starting ${join(install, 'arca-net-controller')} --listen`);
  });

  it('serves reflection v1alpha from the descriptor set beside it', async () => {
    expect(await reflect(join(dir, 'vm', '9999.sock'), 'v1alpha')).toEqual({
      services: ['arca.network.NetworkControl', 'grpc.health.v1.Health'],
      described: { 'arca.network.NetworkControl': true, 'grpc.health.v1.Health': true },
    });
  });

  it('drives OVN: CreateBridge makes a logical switch that ListBridges reports', async () => {
    const created = await client.createBridge({
      networkId: 'bundle-net',
      subnet: '198.51.100.0/24',
      gateway: '',
    });
    expect(created.success).toBe(true);
    const { bridges } = await client.listBridges({});
    expect(bridges.map((b) => b.networkId)).toEqual(['bundle-net']);
  });
});
