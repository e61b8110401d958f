/**
 * Router groups (docs/cluster.md "Routed overlay networks") under concurrent
 * joins and leaves, against a real NB database (an ovsdb-server this file
 * starts, no namespaces or root). Two drivers stand for two hosts' controllers
 * writing one NB. Each case forces one interleaving at the point of the race:
 * a gate in host A's tool runner holds A's first write to the group until
 * host B's whole operation has run, so A commits what it decided from a read
 * that B has made stale.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CliOvnDriver,
  createToolRunner,
  lrName,
  type NetworkRecord,
  type ToolRunner,
  transitLrpName,
  transitLsName,
} from '../../packages/controller/dist/index.js';

const NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
const GROUP = 'g1';

let dir = '';
let db = '';

function startNb(): void {
  dir = mkdtempSync(join(tmpdir(), 'arca-transit-race-'));
  execFileSync('ovsdb-tool', ['create', join(dir, 'nb.db'), NB_SCHEMA], { stdio: 'ignore' });
  execFileSync(
    'ovsdb-server',
    [
      join(dir, 'nb.db'),
      `--remote=punix:${join(dir, 'nb.sock')}`,
      `--pidfile=${join(dir, 'nb.pid')}`,
      `--unixctl=${join(dir, 'nb.ctl')}`,
      `--log-file=${join(dir, 'nb.log')}`,
      '--detach',
      '--no-chdir',
    ],
    { stdio: 'ignore' },
  );
  db = `unix:${join(dir, 'nb.sock')}`;
}

function stopNb(): void {
  if (!dir) return;
  try {
    process.kill(Number(readFileSync(join(dir, 'nb.pid'), 'utf8').trim()), 'SIGTERM');
  } catch {
    // already gone
  }
  rmSync(dir, { recursive: true, force: true });
  dir = '';
}

/**
 * Whether a tool run writes to the group: a transaction of ovsdb-client (the
 * driver uses it for router groups only) that is not all `select`s, or an
 * ovn-nbctl transaction that names the group's transit switch.
 */
function writesGroup(tool: string, args: readonly string[]): boolean {
  if (tool === 'ovsdb-client') {
    const ops = JSON.parse(args[args.length - 1] ?? '[]') as unknown[];
    return ops.slice(1).some((op) => (op as { op?: string }).op !== 'select');
  }
  return (
    tool === 'ovn-nbctl' &&
    args.join(' ').includes(transitLsName(GROUP)) &&
    args.includes('--') &&
    !args.includes('find') &&
    !args.includes('list')
  );
}

/** A host's controller: a driver whose runner can hold its next write to the group. */
function host() {
  const real = createToolRunner({ timeoutMs: 20_000 });
  let gate: (() => Promise<unknown>) | undefined;
  const run: ToolRunner = async (tool, args) => {
    if (gate && writesGroup(tool, args)) {
      const before = gate;
      gate = undefined;
      await before();
    }
    return real(tool, args);
  };
  return {
    driver: new CliOvnDriver(run, { nbDb: db, sbDb: db, ovsDb: db, timeoutMs: 20_000 }),
    /** Runs `other` to its end just before this host's next write to the group. */
    beforeNextWrite(other: () => Promise<unknown>) {
      gate = other;
    },
    get gateOpen() {
      return gate === undefined;
    },
  };
}

const net = (n: number): NetworkRecord => ({
  networkId: `net${n}`,
  name: `net${n}`,
  subnet: `10.${80 + n}.0.0/24`,
  gateway: `10.${80 + n}.0.1`,
  ipRange: '',
  excludeIps: `10.${80 + n}.0.1`,
  mtu: 1400,
  internal: false,
  labels: {},
  routerMac: `0a:00:00:00:00:0${n}`,
  driver: 'overlay',
  router: GROUP,
});

/** A decoded set column (a single element comes as an atom). */
function set(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  return v === undefined ? [] : [String(v)];
}

function map(v: unknown): Map<string, string> {
  return v instanceof Map ? (v as Map<string, string>) : new Map();
}

/** What the NB holds of the group, read through `ovn-nbctl --format=json`. */
async function groupState(driver: CliOvnDriver) {
  const nbctl = driver.nbctl;
  const [switches, lsps, lrps, routers, routes] = await Promise.all([
    nbctl.list('Logical_Switch', ['_uuid', 'name', 'ports']),
    nbctl.list('Logical_Switch_Port', ['_uuid', 'name', 'options', 'external_ids']),
    nbctl.list('Logical_Router_Port', ['_uuid', 'name', 'networks']),
    nbctl.list('Logical_Router', ['name', 'static_routes']),
    nbctl.list('Logical_Router_Static_Route', ['_uuid', 'ip_prefix', 'nexthop']),
  ]);
  const transit = switches.filter((s) => s.name === transitLsName(GROUP));
  const ports = new Set(transit.flatMap((s) => set(s.ports)));
  const isTransit = (p: (typeof lsps)[number]) =>
    map(p.external_ids).get('arca-net:role') === 'transit';
  const members = lsps
    .filter((p) => ports.has(String(p._uuid)))
    .map((p) => ({
      networkId: map(p.external_ids).get('arca-net:network-id') ?? '',
      ip: map(p.external_ids).get('arca-net:ip') ?? '',
      routerPort: map(p.options).get('router-port') ?? '',
    }))
    .sort((x, y) => x.networkId.localeCompare(y.networkId));
  const routeById = new Map(
    routes.map((r) => [String(r._uuid), `${String(r.ip_prefix)} via ${String(r.nexthop)}`]),
  );
  const routesOf = new Map(
    routers.map((r) => [String(r.name), set(r.static_routes).map((u) => routeById.get(u) ?? u)]),
  );
  return {
    transitSwitches: transit.length,
    members,
    lrps: new Map(lrps.map((p) => [String(p.name), set(p.networks).join(',')])),
    routesOf,
    routeRows: routes.length,
    strayTransitPorts: lsps.filter((p) => isTransit(p) && !ports.has(String(p._uuid))).length,
  };
}

/** The group is exactly `ids`: one transit switch, a wired port each, routes between them and no others. */
async function expectGroup(driver: CliOvnDriver, ids: number[]): Promise<void> {
  const s = await groupState(driver);
  expect(s.strayTransitPorts).toBe(0);
  if (ids.length === 0) {
    expect(s.transitSwitches).toBe(0);
    expect(s.members).toEqual([]);
    expect(s.routeRows).toBe(0);
    return;
  }
  expect(s.transitSwitches).toBe(1);
  expect(s.members.map((m) => m.networkId)).toEqual(ids.map((n) => net(n).networkId));
  for (const n of ids) {
    const me = s.members.find((m) => m.networkId === net(n).networkId);
    expect(me?.routerPort).toBe(transitLrpName(net(n).networkId));
    expect(s.lrps.get(transitLrpName(net(n).networkId))).toBe(`${me?.ip}/16`);
    const expected = ids
      .filter((o) => o !== n)
      .map((o) => {
        const other = s.members.find((m) => m.networkId === net(o).networkId);
        return `${net(o).subnet} via ${other?.ip}`;
      })
      .sort();
    expect((s.routesOf.get(lrName(net(n).networkId)) ?? []).sort()).toEqual(expected);
  }
  expect(s.routeRows).toBe(ids.length * (ids.length - 1));
}

describe('a router group under concurrent joins and leaves (real NB database)', () => {
  beforeEach(() => startNb());
  afterEach(() => stopNb());

  it('the last member leaves while another host joins: the joiner is a whole member, nothing of the leaver stays', async () => {
    const a = host();
    const b = host();
    await a.driver.createNetwork(net(1));
    await expectGroup(a.driver, [1]);
    // A has read that it is the last member; B joins and commits; then A commits.
    a.beforeNextWrite(() => b.driver.createNetwork(net(2)));
    await a.driver.deleteNetwork(net(1).networkId, GROUP);
    expect(a.gateOpen).toBe(true);
    await expectGroup(a.driver, [2]);
    // The group still works: a third network joins and is routed with B.
    await a.driver.createNetwork(net(3));
    await expectGroup(a.driver, [2, 3]);
  });

  it('the two last members leave at the same moment: the transit switch goes', async () => {
    const a = host();
    const b = host();
    await a.driver.createNetwork(net(1));
    await b.driver.createNetwork(net(2));
    await expectGroup(a.driver, [1, 2]);
    a.beforeNextWrite(() => b.driver.deleteNetwork(net(2).networkId, GROUP));
    await a.driver.deleteNetwork(net(1).networkId, GROUP);
    expect(a.gateOpen).toBe(true);
    await expectGroup(a.driver, []);
  });

  it('a member leaves while another host joins: no route to the leaver stays behind', async () => {
    const a = host();
    const b = host();
    await a.driver.createNetwork(net(1));
    await a.driver.createNetwork(net(3));
    a.beforeNextWrite(() => b.driver.createNetwork(net(2)));
    await a.driver.deleteNetwork(net(1).networkId, GROUP);
    expect(a.gateOpen).toBe(true);
    await expectGroup(a.driver, [2, 3]);
  });

  it('a joiner has read the members and the last one leaves before it commits: it joins alone', async () => {
    const a = host();
    const b = host();
    await a.driver.createNetwork(net(1));
    b.beforeNextWrite(() => a.driver.deleteNetwork(net(1).networkId, GROUP));
    await b.driver.createNetwork(net(2));
    expect(b.gateOpen).toBe(true);
    await expectGroup(a.driver, [2]);
  });

  it('many joins and leaves from three hosts at once end in exactly the surviving members', async () => {
    const hosts = [host(), host(), host()];
    const on = (n: number) => (hosts[n % 3] as ReturnType<typeof host>).driver;
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => on(n).createNetwork(net(n))));
    await expectGroup(on(0), [1, 2, 3, 4, 5, 6]);
    await Promise.all([
      ...[1, 2, 3].map((n) => on(n).deleteNetwork(net(n).networkId, GROUP)),
      ...[7, 8].map((n) => on(n).createNetwork(net(n))),
    ]);
    await expectGroup(on(0), [4, 5, 6, 7, 8]);
    await Promise.all([4, 5, 6, 7, 8].map((n) => on(n).deleteNetwork(net(n).networkId, GROUP)));
    await expectGroup(on(0), []);
  });
});
