import { network } from '@arca-net/proto';
import { describe, expect, it } from 'vitest';
import { ControllerError } from '../src/domain/errors.js';
import { validateCreateBridge } from '../src/domain/validate.js';
import { transitLrpName, transitLsName, transitLspName } from '../src/ovn/transit.js';

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
