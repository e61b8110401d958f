import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { ControllerError } from '../src/domain/errors.js';
import { validateCreateBridge } from '../src/domain/validate.js';
import type { ToolRunner } from '../src/ovn/exec.js';
import { lrName } from '../src/ovn/names.js';
import { Nbctl } from '../src/ovn/nbctl.js';
import { joinTransit, transitLrpName, transitLsName, transitLspName } from '../src/ovn/transit.js';

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

describe('joining a router group (joinTransit)', () => {
  type Row = { networkId: string; subnet: string; ip: string };
  const rowJson = (rows: Row[]) =>
    JSON.stringify({
      headings: ['external_ids'],
      data: rows.map((r) => [
        [
          'map',
          [
            ['arca-net:network-id', r.networkId],
            ['arca-net:subnet', r.subnet],
            ['arca-net:ip', r.ip],
          ],
        ],
      ]),
    });

  it('takes the next free index, retries after losing one to another helper, and routes to late joiners', async () => {
    const members: Row[] = [{ networkId: 'n0', subnet: '10.1.0.0/24', ip: '169.254.0.1' }];
    const transactions: string[][] = [];
    let conflicts = 1;
    const run: ToolRunner = async (_tool, args) => {
      if (args.includes('find')) return { stdout: rowJson(members), stderr: '' };
      transactions.push([...args]);
      if (args.includes('lsp-add') && conflicts-- > 0) {
        // Another helper took index 2 at the same moment.
        members.push({ networkId: 'nx', subnet: '10.9.0.0/24', ip: '169.254.0.2' });
        throw new Error('ovn-nbctl: lsp-add: a port named an-rt-…-2 already exists');
      }
      if (args.includes('lsp-add')) {
        members.push({ networkId: 'n1', subnet: '10.2.0.0/24', ip: '169.254.0.3' });
      }
      return { stdout: '', stderr: '' };
    };
    const nbctl = new Nbctl(run, { db: 'unix:/nb', timeoutMs: 10_000 });
    await joinTransit(nbctl, { networkId: 'n1', subnet: '10.2.0.0/24', router: 'r1' });
    expect(transactions).toHaveLength(3);
    const [lost, won, late] = transactions as [string[], string[], string[]];
    expect(lost).toContain(transitLspName('r1', 2));
    expect(won).toContain(transitLspName('r1', 3));
    expect(won).toContain('169.254.0.3/16');
    const route = (args: string[], router: string, prefix: string, via: string) =>
      args.join(' ').includes(`lr-route-add ${router} ${prefix} ${via}`);
    expect(route(won, lrName('n1'), '10.1.0.0/24', '169.254.0.1')).toBe(true);
    expect(route(won, lrName('n0'), '10.2.0.0/24', '169.254.0.3')).toBe(true);
    // The member that joined meanwhile gets its routes after the commit.
    expect(route(late, lrName('n1'), '10.9.0.0/24', '169.254.0.2')).toBe(true);
    expect(route(late, lrName('nx'), '10.2.0.0/24', '169.254.0.3')).toBe(true);
  });
});
