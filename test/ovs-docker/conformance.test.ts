/**
 * `arca-net ovs-docker` side by side with Open vSwitch's own
 * /usr/bin/ovs-docker (openvswitch-common): the same command sequence on two
 * containers each, then the OVSDB rows (ids, bridge, tag) and the container
 * side (name, MTU, MAC, addresses, default route) compared; ports removed
 * across tools; failure cases with the same exit codes and messages. Needs
 * root (namespaces, a private OVS in one of them).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portStem } from '../../packages/controller/dist/ovs/index.js';
import { type CommandResult, uniqueSuffix, waitFor } from '../../packages/lab/dist/index.js';

const IP = '/usr/sbin/ip';

import { reaches } from '../controller/harness.js';
import {
  CLI_MAIN,
  containerSide,
  type FakeContainer,
  netnsLinks,
  OvsDockerWorld,
  portRows,
} from './harness.js';

const sfx = uniqueSuffix();
const idOf = (name: string) => createHash('sha256').update(`${sfx}-${name}`).digest('hex');

type Tool = 's' | 'o';
const TOOLS: Tool[] = ['s', 'o'];
/** Bridge `which` of a tool's world: a, b netdev; n missing until add-port makes it. */
const bridge = (tool: Tool, which: 'a' | 'b' | 'n') => `${tool}${sfx}${which}`;

let world: OvsDockerWorld;
const containers = new Map<string, FakeContainer>();
const id = (tool: Tool, n: 1 | 2) => idOf(`${tool}${n}`);
const run = (tool: Tool, args: string[]): Promise<CommandResult> =>
  tool === 's' ? world.script(args) : world.ours(args);

/** A result with one tool's names replaced by placeholders, for comparing with the other's. */
function normalize(tool: Tool, value: unknown): unknown {
  let text = JSON.stringify(value);
  for (const n of [1, 2] as const) text = text.replaceAll(id(tool, n), `<container ${n}>`);
  for (const which of ['a', 'b', 'n'] as const) {
    text = text.replaceAll(bridge(tool, which), `<bridge ${which}>`);
  }
  return JSON.parse(text);
}

async function snapshot(tool: Tool): Promise<unknown> {
  const parts = [];
  for (const n of [1, 2] as const) {
    const c = containers.get(`${tool}${n}`) as FakeContainer;
    parts.push({ ovsdb: await portRows(world, id(tool, n)), container: await containerSide(c.ns) });
  }
  return normalize(tool, parts);
}

/** Runs the same command on both tools; returns both results, normalized. */
async function both(args: (tool: Tool) => string[]): Promise<[CommandResult, CommandResult]> {
  const s = await run('s', args('s'));
  const o = await run('o', args('o'));
  return [normalize('s', s) as CommandResult, normalize('o', o) as CommandResult];
}

beforeAll(async () => {
  world = await OvsDockerWorld.start(`ovd${sfx}`);
  for (const tool of TOOLS) {
    await world.addNetdevBridge(bridge(tool, 'a'));
    await world.addNetdevBridge(bridge(tool, 'b'));
    for (const n of [1, 2] as const) {
      containers.set(`${tool}${n}`, await world.container(id(tool, n), `ovd${sfx}${tool}${n}`));
    }
  }
});

afterAll(async () => {
  await world?.stop();
});

describe('the same sequence through the script and through arca-net', () => {
  it('adds ports with the same OVSDB rows and the same container side', async () => {
    for (const tool of TOOLS) {
      const steps: string[][] = [
        [
          'add-port',
          bridge(tool, 'a'),
          'eth1',
          id(tool, 1),
          '--ipaddress=10.9.0.1/24',
          '--macaddress=02:00:0a:09:00:01',
          '--gateway=10.9.0.254',
          '--mtu=1400',
        ],
        [
          'add-port',
          bridge(tool, 'a'),
          'eth1',
          id(tool, 2),
          '--ipaddress=10.9.0.2/24',
          '--macaddress=02:00:0a:09:00:02',
        ],
        ['add-port', bridge(tool, 'b'), 'eth2', id(tool, 1), '--macaddress=02:00:0a:09:01:01'],
        ['add-port', bridge(tool, 'n'), 'eth3', id(tool, 2), '--macaddress=02:00:0a:09:02:02'],
      ];
      for (const step of steps) {
        const result = await run(tool, step);
        expect({ tool, step, code: result.code }).toEqual({ tool, step, code: 0 });
      }
    }
    const [s, o] = [await snapshot('s'), await snapshot('o')];
    expect(o).toEqual(s);
    expect(s).toMatchObject([
      {
        ovsdb: [
          { iface: 'eth1', bridge: '<bridge a>', tag: null },
          { iface: 'eth2', bridge: '<bridge b>', tag: null },
        ],
        container: {
          ifaces: [
            { ifname: 'eth1', mtu: 1400, mac: '02:00:0a:09:00:01', addresses: ['10.9.0.1/24'] },
            { ifname: 'eth2', mtu: 1500, mac: '02:00:0a:09:01:01', addresses: [] },
          ],
          defaultRoute: ['via 10.9.0.254 dev eth1'],
        },
      },
      {
        ovsdb: [
          {
            iface: 'eth1',
            externalIds: { container_id: '<container 2>', container_iface: 'eth1' },
          },
          { iface: 'eth3', bridge: '<bridge n>' },
        ],
      },
    ]);
    // The missing bridge was made by both.
    expect(await world.vsctl('br-exists', bridge('o', 'n')).then(() => 0)).toBe(0);
  });

  it('passes traffic between two containers on one bridge, for both tools', async () => {
    for (const tool of TOOLS) {
      const c1 = containers.get(`${tool}1`) as FakeContainer;
      expect({ tool, reaches: await reaches(c1.ns, '10.9.0.2', 3) }).toEqual({
        tool,
        reaches: true,
      });
    }
  });

  it('names ours from the container id, so the names are known before a run', async () => {
    const names = (await world.vsctl('--bare', '--columns=name', 'find', 'Interface'))
      .split('\n')
      .map((l) => l.trim());
    expect(names).toContain(`${portStem(id('o', 1), 'eth1')}_l`);
    expect(names).toContain(`${portStem(id('o', 1), 'eth2')}_l`);
    expect(portStem(id('o', 1), 'eth1').slice(0, 12)).toBe(id('o', 1).slice(0, 12));
  });

  it('sets VLAN tags the same way', async () => {
    const [s, o] = await both((t) => ['set-vlan', bridge(t, 'a'), 'eth1', id(t, 1), '10']);
    expect(o).toEqual(s);
    expect(s.code).toBe(0);
    expect(await snapshot('o')).toEqual(await snapshot('s'));
    expect((await portRows(world, id('o', 1)))[0]?.tag).toBe(10);
  });

  it('fails the same way: duplicate port, unknown container, missing arguments, unknown options and commands', async () => {
    const cases: ((t: Tool) => string[])[] = [
      (t) => ['add-port', bridge(t, 'a'), 'eth1', id(t, 1)],
      (t) => ['add-port', bridge(t, 'a'), 'eth9', `nosuch${sfx}`],
      (t) => ['add-port', bridge(t, 'a'), 'eth9'],
      (t) => ['add-port', bridge(t, 'a'), 'eth9', id(t, 1), '--vlan=3'],
      (t) => ['del-port', bridge(t, 'a'), 'eth9', id(t, 1)],
      (t) => ['del-port', bridge(t, 'a'), 'eth9'],
      (t) => ['del-ports', bridge(t, 'a')],
      (t) => ['set-vlan', bridge(t, 'a'), 'eth1', id(t, 1)],
      (t) => ['set-vlan', bridge(t, 'a'), 'eth9', id(t, 1), '5'],
      () => ['frobnicate'],
      () => ['--help'],
      () => [],
      (t) => ['del-ports', bridge(t, 'a'), `nosuch${sfx}`],
    ];
    const before = [await snapshot('s'), await snapshot('o')];
    for (const args of cases) {
      const [s, o] = await both(args);
      expect({ args: args('s'), ...o }).toEqual({ args: args('s'), ...s });
    }
    expect([await snapshot('s'), await snapshot('o')]).toEqual(before);
    expect(netnsLinks()).toEqual([]);
  });

  it('rejects a VLAN outside 0-4095 with the same words; exits 1 where the script exits 0', async () => {
    const [s, o] = await both((t) => ['set-vlan', bridge(t, 'a'), 'eth1', id(t, 1), '5000']);
    expect(s.stderr).toContain('5000 is not in the valid range 0 to 4095 (inclusive)');
    expect(o.stderr).toContain('5000 is not in the valid range 0 to 4095 (inclusive)');
    // The script ignores ovs-vsctl's failure (docs/ovs-docker.md): a documented difference.
    expect([s.code, o.code]).toEqual([0, 1]);
    expect((await portRows(world, id('o', 1)))[0]?.tag).toBe(10);
  });
});

describe('removal across tools', () => {
  it("the script's del-port removes a port arca-net added, and the other way round", async () => {
    const s = await world.script(['del-port', bridge('o', 'b'), 'eth2', id('o', 1)]);
    const o = await world.ours(['del-port', bridge('s', 'b'), 'eth2', id('s', 1)]);
    expect([s.code, s.stderr, o.code, o.stderr]).toEqual([0, '', 0, '']);
    for (const tool of TOOLS) {
      const rows = await portRows(world, id(tool, 1));
      expect(rows.map((r) => r.iface)).toEqual(['eth1']);
      const side = await containerSide((containers.get(`${tool}1`) as FakeContainer).ns);
      expect(side.ifaces.map((i) => i.ifname)).toEqual(['eth1']);
    }
  });

  it("arca-net's del-ports removes every port the script added, and the script's removes ours", async () => {
    const o = await world.ours(['del-ports', bridge('s', 'a'), id('s', 2)]);
    const s = await world.script(['del-ports', bridge('o', 'a'), id('o', 2)]);
    expect([o.code, o.stderr, s.code, s.stderr]).toEqual([0, '', 0, '']);
    for (const tool of TOOLS) {
      expect(await portRows(world, id(tool, 2))).toEqual([]);
      const side = await containerSide((containers.get(`${tool}2`) as FakeContainer).ns);
      expect(side.ifaces).toEqual([]);
    }
  });

  it('leaves no veth behind once every port is removed', async () => {
    for (const tool of TOOLS) {
      const result = await run(tool === 's' ? 'o' : 's', [
        'del-ports',
        bridge(tool, 'a'),
        id(tool, 1),
      ]);
      expect(result.code).toBe(0);
    }
    expect(await world.vethsInHelper()).toEqual([]);
    expect(netnsLinks()).toEqual([]);
  });
});

describe("arca-net's own guarantees", () => {
  it('adds again under the same names after a removal (idempotent names)', async () => {
    const args = ['add-port', bridge('o', 'a'), 'eth1', id('o', 1), '--ipaddress=10.9.0.1/24'];
    expect((await world.ours(args)).code).toBe(0);
    const first = await world.vethsInHelper();
    expect((await world.ours(['del-port', bridge('o', 'a'), 'eth1', id('o', 1)])).code).toBe(0);
    expect((await world.ours(args)).code).toBe(0);
    expect(await world.vethsInHelper()).toEqual(first);
    expect(first).toEqual([`${portStem(id('o', 1), 'eth1')}_l`]);
  });

  it('undoes everything when interrupted (SIGTERM) half-way, exit 130', async () => {
    // An `ip` in front of the real one holds the move into the container until released.
    const dir = join(world.helper.dir, 'hold');
    mkdirSync(dir, { recursive: true });
    const [held, release] = [join(dir, 'held'), join(dir, 'release')];
    writeFileSync(
      join(dir, 'ip'),
      `#!/bin/sh
case " $* " in *" netns "*)
  : > ${held}; i=0
  while [ ! -e ${release} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done;;
esac
exec ${IP} "$@"
`,
    );
    chmodSync(join(dir, 'ip'), 0o755);
    const before = await world.vethsInHelper();
    const env = world.env();
    const child = spawn(
      IP,
      ['netns', 'exec', world.helper.ns.name, process.execPath, CLI_MAIN, 'ovs-docker'].concat([
        'add-port',
        bridge('o', 'a'),
        'eth8',
        id('o', 2),
      ]),
      { env: { ...env, PATH: `${dir}:${env.PATH}` }, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(await waitFor(async () => existsSync(held), { timeoutMs: 30_000 })).toBe(true);
    child.kill('SIGTERM');
    writeFileSync(release, '');
    expect(await exited).toBe(130);
    expect(await portRows(world, id('o', 2))).toEqual([]);
    expect(await world.vethsInHelper()).toEqual(before);
    expect(netnsLinks()).toEqual([]);
  });

  it('undoes every step when a later one fails, and removes the namespace link', async () => {
    // The container already has a default route: `ip route add default` fails last.
    const c2 = containers.get('o2') as FakeContainer;
    await c2.ns.ip(['route', 'add', 'default', 'dev', 'lo']);
    const before = await world.vethsInHelper();
    const result = await world.ours([
      'add-port',
      bridge('o', 'n'),
      'eth4',
      id('o', 2),
      '--ipaddress=10.9.4.2/24',
      '--gateway=10.9.4.1',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /File exists[\s\S]*ovs-docker: Failed to run 'ip .*route add default via 10.9.4.1'/,
    );
    expect(await portRows(world, id('o', 2))).toEqual([]);
    expect(await world.vethsInHelper()).toEqual(before);
    expect((await containerSide(c2.ns)).ifaces).toEqual([]);
    expect(netnsLinks()).toEqual([]);
    await c2.ns.ip(['route', 'del', 'default']);
  });

  it('rejects bad input before making anything', async () => {
    const o2 = id('o', 2);
    const b = bridge('o', 'a');
    const cases: [string[], RegExp][] = [
      [
        ['add-port', b, 'eth-is-too-long0', o2],
        /invalid interface name "eth-is-too-long0": it is 16 bytes long/,
      ],
      [['add-port', b, 'eth5', o2, '--macaddress=02:00:zz:00:00:01'], /invalid MAC address/],
      [['add-port', b, 'eth5', o2, '--macaddress=01:00:5e:00:00:01'], /multicast/],
      [['add-port', b, 'eth5', o2, '--ipaddress=10.9.0.300/24'], /invalid address/],
      [['add-port', b, 'eth5', o2, '--ipaddress=10.9.0.3/33'], /prefix length must be 0 to 32/],
      [['add-port', b, 'eth5', o2, '--gateway=nowhere'], /invalid gateway/],
      [['add-port', b, 'eth5', o2, '--mtu=abc'], /invalid MTU "abc"/],
      [['add-port', b, 'eth5', o2, '--mtu=40'], /from 68 to 65535/],
      [['add-port', 'br"x', 'eth5', o2], /invalid bridge name "br"x"/],
      [['add-port', 'br{a=b}', 'eth5', o2], /invalid bridge name/],
      [['set-vlan', b, 'eth1', id('o', 1), 'ten'], /invalid VLAN: ten is not in the valid range/],
    ];
    const rows = () => world.vsctl('--columns=name,external_ids', 'list', 'Interface');
    const bridges = () => world.vsctl('list-br');
    const before = [await rows(), await bridges()];
    for (const [args, message] of cases) {
      const result = await world.ours(args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toMatch(message);
    }
    world.stoppedContainer(`stopped${sfx}`);
    const stopped = await world.ours(['add-port', b, 'eth5', `stopped${sfx}`]);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/is not running[\s\S]*Failed to get the PID of the container/);
    expect([await rows(), await bridges()]).toEqual(before);
    expect(await world.vethsInHelper()).toEqual([`${portStem(id('o', 1), 'eth1')}_l`]);
  });

  it('says what ovs-vsctl says when there is no OVSDB, with the exit code of the script', async () => {
    const env = { OVS_RUNDIR: `${world.helper.dir}/nothing-here` };
    for (const args of [
      ['add-port', bridge('o', 'a'), 'eth6', id('o', 2)],
      ['del-port', bridge('o', 'a'), 'eth6', id('o', 2)],
    ]) {
      const s = await world.script(args, env);
      const o = await world.ours(args, env);
      expect([o.code, s.code]).toEqual([1, 1]);
      expect(o.stderr).toContain('database connection failed (No such file or directory)');
      expect(s.stderr).toContain('database connection failed (No such file or directory)');
    }
    expect(netnsLinks()).toEqual([]);
  });
});
