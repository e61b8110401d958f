import { describe, expect, it } from 'vitest';
import { isBackendError } from '../src/errors.js';
import { networkRouter, optionRouter, ROUTER_OPTION } from '../src/router-option.js';

describe('the network option arca-net.router', () => {
  it('names the group of an overlay network; absent means isolated', () => {
    expect(optionRouter({ [ROUTER_OPTION]: 'r1' }, true, false)).toBe('r1');
    expect(optionRouter({}, true, false)).toBe('');
    expect(networkRouter({ options: { [ROUTER_OPTION]: 'r1' } })).toBe('r1');
    expect(networkRouter({ options: {} })).toBe('');
  });

  it('is INVALID_OPTION when malformed, on a bridge network or on an internal one', () => {
    const cases: Array<[Record<string, string>, boolean, boolean, RegExp]> = [
      [{ [ROUTER_OPTION]: '' }, true, false, /invalid arca-net.router ""/],
      [{ [ROUTER_OPTION]: 'a/b' }, true, false, /invalid arca-net.router "a\/b"/],
      [{ [ROUTER_OPTION]: 'r1' }, false, false, /only supported on overlay networks/],
      [{ [ROUTER_OPTION]: 'r1' }, true, true, /cannot be used on an internal network/],
    ];
    for (const [options, overlay, internal, message] of cases) {
      let caught: unknown;
      try {
        optionRouter(options, overlay, internal);
      } catch (err) {
        caught = err;
      }
      expect(isBackendError(caught, 'INVALID_OPTION')).toBe(true);
      expect((caught as Error).message).toMatch(message);
    }
  });
});
