/**
 * `arca-net ovs-docker watch` against a fake Docker Engine API on a Unix
 * socket (fake-engine.ts; a real dockerd is issue 16's item 4, not done
 * here): labelled containers are plugged at start-up and on `start`,
 * unplugged on `die`; ports of containers that are gone are removed; after
 * the engine goes away and comes back, and after the watcher itself
 * restarts, it reconciles; counters on /metrics. The watcher runs in the
 * namespace of a private OVS (harness.ts); containers are namespaces.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../packages/controller/dist/ovs/index.js';
import { uniqueSuffix, waitFor } from '../../packages/lab/dist/index.js';
import { reaches } from '../controller/harness.js';
import { FakeEngine } from './fake-engine.js';
import {
  type FakeContainer,
  OvsDockerWorld,
  portRows,
  portsBecome as portsBecomeIn,
  WatcherProcess,
  watcherMetrics,
} from './harness.js';

const sfx = uniqueSuffix();
const idOf = (name: string) => createHash('sha256').update(`${sfx}-w-${name}`).digest('hex');
const BRIDGE = `w${sfx}a`;
const DEFAULT_BRIDGE = `w${sfx}d`;
const METRICS = '127.0.0.1:9464';

let world: OvsDockerWorld;
let engine: FakeEngine;
let watcher: WatcherProcess | undefined;
let configFile: string;
let logFile: string;
const ns = new Map<string, FakeContainer>();

function labels(extra: Record<string, string> = {}): Record<string, string> {
  return { [LABEL.bridge]: BRIDGE, ...extra };
}

/** Starts namespace-container `name` and returns it as the engine sees it (not yet started there). */
async function container(name: string, l: Record<string, string>) {
  const c = await world.container(idOf(name), `ovw${sfx}${name}`);
  ns.set(name, c);
  return { id: idOf(name), name: `${name}-${sfx}`, labels: l, pid: c.pid };
}

function startWatcher(): void {
  watcher = WatcherProcess.start(world, configFile, logFile);
}

async function stopWatcher(): Promise<number | null> {
  const w = watcher;
  watcher = undefined;
  return w ? w.stop() : null;
}

const portsBecome = (name: string, ifaces: string[]) =>
  portsBecomeIn(world, idOf(name), ifaces, logFile);
const metrics = () => watcherMetrics(world, METRICS);
const readLog = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');

beforeAll(async () => {
  world = await OvsDockerWorld.start(`ovw${sfx}`);
  await world.addNetdevBridge(BRIDGE);
  await world.addNetdevBridge(DEFAULT_BRIDGE);
  engine = new FakeEngine(join(world.helper.dir, 'docker.sock'));
  await engine.listen();
  configFile = join(world.helper.dir, 'watch.json');
  logFile = join(world.helper.dir, 'watch.log');
  writeFileSync(
    configFile,
    JSON.stringify({
      dockerSocket: engine.socket,
      defaultBridge: DEFAULT_BRIDGE,
      metrics: METRICS,
      backoffMs: [100, 1000],
    }),
  );
});

afterAll(async () => {
  await stopWatcher();
  await engine?.stop();
  await world?.stop();
});

describe('ovs-docker watch', () => {
  it('reconciles at start-up: plugs labelled running containers, removes ports of unknown ones', async () => {
    engine.start(await container('a', labels({ [LABEL.ip]: '10.7.0.1/24', [LABEL.vlan]: '7' })), {
      silent: true,
    });
    engine.start(await container('b', labels({ [LABEL.ip]: '10.7.0.2/24', [LABEL.vlan]: '7' })), {
      silent: true,
    });
    engine.start(await container('c', {}), { silent: true });
    engine.start(await container('f', labels({ [LABEL.mtu]: 'abc' })), { silent: true });
    // A port whose container Docker does not know (made by ovs-docker add-port through the fake docker CLI).
    await container('orphan', {});
    expect((await world.ours(['add-port', BRIDGE, 'eth1', idOf('orphan')])).code).toBe(0);

    startWatcher();
    await portsBecome('a', ['eth1']);
    await portsBecome('b', ['eth1']);
    await portsBecome('orphan', []);
    const [a] = await portRows(world, idOf('a'));
    expect(a).toMatchObject({ bridge: BRIDGE, tag: 7, externalIds: { container_iface: 'eth1' } });
    expect(await portRows(world, idOf('c'))).toEqual([]);
    expect(await portRows(world, idOf('f'))).toEqual([]);
    expect(await reaches((ns.get('a') as FakeContainer).ns, '10.7.0.2', 3)).toBe(true);
  });

  it('plugs on start and unplugs on die', async () => {
    engine.start(await container('d', labels({ [LABEL.iface]: 'data0' })));
    await portsBecome('d', ['data0']);
    engine.die(idOf('a'));
    await portsBecome('a', []);
    // OVSDB first, then the veth (the script's order): wait for both.
    const vethGone = await waitFor(
      async () => !(await world.vethsInHelper()).some((n) => n.startsWith(idOf('a').slice(0, 12))),
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(vethGone).toBe(true);
  });

  it('reconnects after the engine restarts and catches up with what it missed', async () => {
    const before = engine.subscriptions;
    await engine.stop();
    engine.die(idOf('b'), { silent: true });
    engine.start(await container('e', labels()), { silent: true });
    await engine.listen();
    await portsBecome('b', []);
    await portsBecome('e', ['eth1']);
    expect(engine.subscriptions).toBeGreaterThan(before);
    const m = await metrics();
    expect(m.plugs).toBe(4);
    expect(m.unplugs).toBe(3);
    expect(m.failures).toBeGreaterThanOrEqual(1);
    expect(m.reconnects).toBeGreaterThanOrEqual(1);
    expect(readFileSync(logFile, 'utf8')).toMatch(/invalid MTU[^\n]*"msg":"plug failed"/);
  });

  it('reconciles after its own restart; an empty bridge label means the default bridge', async () => {
    expect(await stopWatcher()).toBe(0);
    engine.die(idOf('d'));
    engine.start(await container('h', { [LABEL.bridge]: '' }));
    startWatcher();
    await portsBecome('d', []);
    await portsBecome('h', ['eth1']);
    expect((await portRows(world, idOf('h')))[0]?.bridge).toBe(DEFAULT_BRIDGE);
    expect((await portRows(world, idOf('e'))).map((r) => r.iface)).toEqual(['eth1']);
  });

  it('says which socket it cannot reach when Docker is missing, and keeps trying', async () => {
    const missing = join(world.helper.dir, 'no-docker.sock');
    const file = join(world.helper.dir, 'missing.json');
    const log = join(world.helper.dir, 'missing.log');
    writeFileSync(file, JSON.stringify({ dockerSocket: missing, backoffMs: [100, 200] }));
    const lonely = WatcherProcess.start(world, file, log);
    const said = await waitFor(
      async () => (readLog(log).match(/"msg":"Docker Engine unreachable"/g) ?? []).length >= 2,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(await lonely.stop()).toBe(0);
    expect(said).toBe(true);
    expect(readLog(log)).toContain(`"socket":"${missing}"`);
  });
});
