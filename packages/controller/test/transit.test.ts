import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { ControllerError } from '../src/domain/errors.js';
import { validateCreateBridge } from '../src/domain/validate.js';
import type { ToolRunner } from '../src/ovn/exec.js';
import { lrName } from '../src/ovn/names.js';
import { type OvsdbOp, OvsdbTransactor } from '../src/ovn/ovsdb-tx.js';
import {
  joinOps,
  joinTransit,
  leaveOps,
  transitLrpName,
  transitLsName,
  transitLspName,
} from '../src/ovn/transit.js';

const create = (extra: Partial<network.CreateBridgeRequest>) =>
  validateCreateBridge(
    network.CreateBridgeRequest.fromPartial({ networkId: 'n1', subnet: '10.82.0.0/24', ...extra }),
  );

describe('an overlay network routed in a group (CreateBridgeRequest.router)', () => {
  it('takes a valid name on a non-internal overlay network; none by default', () => {
    expect(create({ driver: 'overlay', router: 'r1' }).router).toBe('r1');
    expect(create({ driver: 'overlay' }).router).toBeUndefined();
  });

  it('refuses a bad name, a bridge network and an internal one with INVALID_ARGUMENT', () => {
    for (const [extra, message] of [
      [{ driver: 'overlay', router: '-x' }, /router "-x" is not valid/],
      [{ driver: 'overlay', router: 'a b' }, /router "a b" is not valid/],
      [{ driver: 'overlay', router: 'x'.repeat(65) }, /is not valid/],
      [{ driver: 'bridge', router: 'r1' }, /only overlay networks can be routed/],
      [{ driver: 'overlay', internal: true, router: 'r1' }, /internal network cannot be routed/],
    ] as const) {
      let caught: unknown;
      try {
        create(extra);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ControllerError);
      expect((caught as ControllerError).code).toBe('INVALID_ARGUMENT');
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('names transit rows from hashes of the group and the network, never from the user string', () => {
    expect(transitLsName('r1')).toMatch(/^an-rt-[0-9a-f]{12}$/);
    expect(transitLspName('r1', 7)).toBe(`${transitLsName('r1')}-7`);
    expect(transitLsName('r2')).not.toBe(transitLsName('r1'));
    expect(transitLrpName('n1')).toMatch(/^an-lrt-[0-9a-f]{12}$/);
  });
});

describe('the writes of a join and a leave (joinOps, leaveOps)', () => {
  const n0 = { networkId: 'n0', subnet: '10.1.0.0/24', address: '169.254.0.1', index: 1 };
  const n1 = { networkId: 'n1', subnet: '10.2.0.0/24', address: '169.254.0.2', index: 2 };
  const guardOf = (ops: OvsdbOp[]) => ops[0] as Record<string, unknown>;

  it('the first member creates the switch, guarded by its absence', () => {
    const ops = joinOps('r1', { members: [] }, n0, { routerUuid: 'lr0' });
    expect(guardOf(ops)).toMatchObject({
      op: 'wait',
      table: 'Logical_Switch',
      where: [['name', '==', transitLsName('r1')]],
      until: '==',
      rows: [],
      timeout: 0,
    });
    expect(ops.find((o) => o.op === 'insert' && o.table === 'Logical_Switch')).toBeDefined();
    expect(ops.filter((o) => o.table === 'Logical_Router_Static_Route')).toEqual([]);
  });

  it('a later member is guarded by the ports it read, and routes both ways with each member', () => {
    const group = { ls: { uuid: 'ls', ports: ['p0'] }, members: [{ ...n0, lspUuid: 'p0' }] };
    const ops = joinOps('r1', group, n1, { routerUuid: 'lr1' });
    expect(guardOf(ops)).toMatchObject({
      where: [['_uuid', '==', ['uuid', 'ls']]],
      columns: ['ports'],
      rows: [{ ports: ['set', [['uuid', 'p0']]] }],
      timeout: 0,
    });
    expect(ops.find((o) => o.op === 'insert' && o.table === 'Logical_Switch')).toBeUndefined();
    const routes = ops.filter((o) => o.table === 'Logical_Router_Static_Route');
    expect(routes.map((o) => (o.row as { ip_prefix: string; nexthop: string }).ip_prefix)).toEqual([
      '10.1.0.0/24',
      '10.2.0.0/24',
    ]);
    const onRouters = ops
      .filter((o) => o.table === 'Logical_Router' && o.op === 'mutate')
      .map((o) => JSON.stringify(o.where));
    expect(onRouters.some((w) => w.includes(lrName('n0')))).toBe(true);
    expect(onRouters.some((w) => w.includes(lrName('n1')))).toBe(true);
  });

  it('the last member to leave deletes the switch; another does not', () => {
    const one = { ls: { uuid: 'ls', ports: ['p0'] }, members: [{ ...n0, lspUuid: 'p0' }] };
    const last = leaveOps('r1', one, one.members[0] as { networkId: string; lspUuid: string }, []);
    expect(guardOf(last)).toMatchObject({
      op: 'wait',
      rows: [{ ports: ['set', [['uuid', 'p0']]] }],
    });
    expect(last.at(-1)).toEqual({
      op: 'delete',
      table: 'Logical_Switch',
      where: [['_uuid', '==', ['uuid', 'ls']]],
    });
    const two = {
      ls: { uuid: 'ls', ports: ['p0', 'p1'] },
      members: [
        { ...n0, lspUuid: 'p0' },
        { ...n1, lspUuid: 'p1' },
      ],
    };
    const ops = leaveOps('r1', two, { networkId: 'n0', lspUuid: 'p0' }, ['route1']);
    expect(ops.some((o) => o.op === 'delete')).toBe(false);
    expect(ops).toContainEqual({
      op: 'mutate',
      table: 'Logical_Router',
      where: [['name', '==', lrName('n1')]],
      mutations: [['static_routes', 'delete', ['set', [['uuid', 'route1']]]]],
    });
  });
});

describe('joining a router group (joinTransit)', () => {
  it('reads again and takes the next free index when another host changed the group first', async () => {
    const lsp = (networkId: string, subnet: string, ip: string, uuid: string) => ({
      _uuid: ['uuid', uuid],
      external_ids: [
        'map',
        [
          ['arca-net:network-id', networkId],
          ['arca-net:subnet', subnet],
          ['arca-net:ip', ip],
        ],
      ],
    });
    const ports = [lsp('n0', '10.1.0.0/24', '169.254.0.1', 'p0')];
    const writes: OvsdbOp[][] = [];
    let conflicts = 1;
    const run: ToolRunner = async (_tool, args) => {
      const ops = (JSON.parse(args[args.length - 1] ?? '[]') as unknown[]).slice(1) as OvsdbOp[];
      if (ops.every((o) => o.op === 'select')) {
        const rows = ops.map((o) => {
          if (o.table === 'Logical_Switch')
            return { rows: [{ _uuid: ['uuid', 'ls'], ports: ['set', ports.map((p) => p._uuid)] }] };
          if (o.table === 'Logical_Switch_Port') return { rows: ports };
          if (o.table === 'Logical_Router') return { rows: [{ _uuid: ['uuid', 'lr1'] }] };
          return { rows: [] };
        });
        return { stdout: JSON.stringify(rows), stderr: '' };
      }
      writes.push(ops);
      if (conflicts-- > 0) {
        // Another host joined with index 2 first: the guard fails.
        ports.push(lsp('nx', '10.9.0.0/24', '169.254.0.2', 'px'));
        return {
          stdout: JSON.stringify([{ error: 'timed out', details: '"where" clause test failed' }]),
          stderr: '',
        };
      }
      return { stdout: JSON.stringify(ops.map(() => ({}))), stderr: '' };
    };
    const tx = new OvsdbTransactor(run, 'unix:/nb', 'OVN_Northbound', 10_000);
    await joinTransit(tx, { networkId: 'n1', subnet: '10.2.0.0/24', router: 'r1' });
    expect(writes).toHaveLength(2);
    const [lost, won] = writes as [OvsdbOp[], OvsdbOp[]];
    const lspName = (ops: OvsdbOp[]) =>
      (ops.find((o) => o.table === 'Logical_Switch_Port')?.row as { name: string } | undefined)
        ?.name;
    expect(lspName(lost)).toBe(transitLspName('r1', 2));
    expect(lspName(won)).toBe(transitLspName('r1', 3));
    // The second write routes to the host that joined meanwhile.
    const prefixes = won
      .filter((o) => o.table === 'Logical_Router_Static_Route')
      .map((o) => (o.row as { ip_prefix: string }).ip_prefix);
    expect(prefixes).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.9.0.0/24', '10.2.0.0/24']);
  });
});
