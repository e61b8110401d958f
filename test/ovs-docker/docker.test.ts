/**
 * `arca-net ovs-docker watch` with a real Docker engine (issue 16, item 4):
 * a private dockerd (dockerd.ts) in the namespace of a private OVS
 * (harness.ts), containers started with testcontainers (Ryuk disabled) from
 * a `docker import`ed busybox, network mode `none`; the watcher plugs the
 * labelled ones in, they ping each other over OVS, stopping them unplugs
 * them, and restarting the watcher and then dockerd while containers come
 * and go ends in a reconciled OVS. Needs root and docker.io (`make setup`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL, portStem } from '../../packages/controller/dist/ovs/index.js';
import { uniqueSuffix } from '../../packages/lab/dist/index.js';
import { BUSYBOX_IMAGE, PrivateDockerd } from './dockerd.js';
import {
  OvsDockerWorld,
  portRows,
  portsBecome as portsBecomeIn,
  WatcherProcess,
  watcherMetrics,
} from './harness.js';

const sfx = uniqueSuffix();
const BRIDGE = `k${sfx}a`;
const METRICS = '127.0.0.1:9465';

let world: OvsDockerWorld;
let dockerd: PrivateDockerd;
let watcher: WatcherProcess | undefined;
let configFile: string;
let logFile: string;
const started: StartedTestContainer[] = [];

const portsBecome = (id: string, ifaces: string[]) => portsBecomeIn(world, id, ifaces, logFile);

/** A labelled busybox container on network `none`, started by testcontainers. */
async function run(name: string, labels: Record<string, string>): Promise<StartedTestContainer> {
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer(BUSYBOX_IMAGE)
    .withName(`${name}-${sfx}`)
    .withNetworkMode('none')
    .withLabels({ [LABEL.bridge]: BRIDGE, ...labels })
    .withCommand(['/bin/sleep', '3600'])
    .start();
  started.push(container);
  return container;
}

beforeAll(async () => {
  world = await OvsDockerWorld.start(`ovk${sfx}`);
  await world.addNetdevBridge(BRIDGE);
  dockerd = new PrivateDockerd(join(world.helper.dir, 'docker'), world.helper.ns.name, `ovk${sfx}`);
  await dockerd.start();
  await dockerd.importBusybox();
  // testcontainers reads these on first use.
  process.env.DOCKER_HOST = dockerd.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  // Its host lookup inspects Docker's `bridge` network, which this engine does not have (--bridge=none);
  // the containers publish no ports, so the host is never used.
  process.env.TESTCONTAINERS_HOST_OVERRIDE = 'localhost';
  configFile = join(world.helper.dir, 'watch.json');
  logFile = join(world.helper.dir, 'watch.log');
  writeFileSync(
    configFile,
    JSON.stringify({ dockerSocket: dockerd.socket, metrics: METRICS, backoffMs: [100, 1000] }),
  );
});

afterAll(async () => {
  await watcher?.stop();
  await dockerd?.destroy();
  await world?.stop();
});

describe('ovs-docker watch with a real Docker engine', () => {
  it('plugs labelled containers in as they start; they reach each other over OVS', async () => {
    watcher = WatcherProcess.start(world, configFile, logFile);
    const a = await run('a', { [LABEL.ip]: '10.6.0.1/24' });
    const b = await run('b', { [LABEL.ip]: '10.6.0.2/24', [LABEL.mac]: '02:00:0a:06:00:02' });
    await portsBecome(a.getId(), ['eth1']);
    await portsBecome(b.getId(), ['eth1']);
    const [row] = await portRows(world, a.getId());
    expect(row).toMatchObject({
      bridge: BRIDGE,
      externalIds: { container_id: a.getId(), container_iface: 'eth1' },
    });
    const ping = await a.exec(['ping', '-c', '3', '-W', '2', '10.6.0.2']);
    expect({ exitCode: ping.exitCode, output: ping.output }).toMatchObject({ exitCode: 0 });
    const link = await b.exec(['ip', 'link', 'show', 'eth1']);
    expect(link.output).toContain('02:00:0a:06:00:02');
  });

  it('unplugs a container when it stops', async () => {
    const b = started[1] as StartedTestContainer;
    await b.stop();
    await portsBecome(b.getId(), []);
  });

  it('reconciles after the watcher restarts while containers come and go', async () => {
    expect(await watcher?.stop()).toBe(0);
    const a = started[0] as StartedTestContainer;
    await a.stop();
    const c = await run('c', {});
    watcher = WatcherProcess.start(world, configFile, logFile);
    await portsBecome(a.getId(), []);
    await portsBecome(c.getId(), ['eth1']);
  });

  it('reconnects and reconciles after dockerd restarts', async () => {
    const c = started[2] as StartedTestContainer;
    await dockerd.stop(); // its containers stop with it
    await dockerd.start();
    await portsBecome(c.getId(), []);
    const d = await run('d', {});
    await portsBecome(d.getId(), ['eth1']);
    const m = await watcherMetrics(world, METRICS);
    expect(m.reconnects).toBeGreaterThanOrEqual(1);
    // The restarted watcher plugged c and d; only d's veth is left.
    expect(m.plugs).toBe(2);
    expect(await world.vethsInHelper()).toEqual([`${portStem(d.getId(), 'eth1')}_l`]);
  });
});
