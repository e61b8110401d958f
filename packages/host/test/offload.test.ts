import { describe, expect, it } from 'vitest';
import { isBackendError } from '../src/errors.js';
import { chooseFraming, networkOffloadVeto, parseOffloadPreference } from '../src/offload.js';
import type { NetworkRecord } from '../src/state.js';
import { NETWORK } from './rpc-calls.js';

const both = { forwarder: true, helper: true };
const net = (options: Record<string, string> = {}): NetworkRecord => ({ ...NETWORK, options });

describe('the host chooses the framing of one attachment', () => {
  it('auto: offload only when both sides support it and nothing vetoes it', () => {
    expect(chooseFraming('auto', both, undefined, 'c on n')).toBe('offload');
    expect(chooseFraming('auto', { forwarder: false, helper: true }, undefined, 'c')).toBe('plain');
    expect(chooseFraming('auto', { forwarder: true, helper: false }, undefined, 'c')).toBe('plain');
    expect(chooseFraming('auto', both, 'overlay', 'c')).toBe('plain');
  });

  it('off: always plain; on: offload, or INVALID_OPTION naming what is missing', () => {
    expect(chooseFraming('off', both, undefined, 'c')).toBe('plain');
    expect(chooseFraming('on', both, undefined, 'c')).toBe('offload');
    let error: unknown;
    try {
      chooseFraming('on', { forwarder: false, helper: true }, undefined, 'web on front');
    } catch (err) {
      error = err;
    }
    expect(isBackendError(error, 'INVALID_OPTION')).toBe(true);
    expect(String(error)).toMatch(
      /arca-net.offload=on for web on front: the container VM lacks offload/,
    );
  });

  it('a network with arca-net.offload=off, and an overlay network, veto offload', () => {
    expect(networkOffloadVeto(net())).toBeUndefined();
    expect(networkOffloadVeto(net({ 'arca-net.offload': 'off' }))).toMatch(/front/);
    expect(networkOffloadVeto({ ...net(), driver: 'overlay' })).toMatch(/overlay network/);
  });

  it('parses preferences, with a fallback for none, and refuses others', () => {
    expect(parseOffloadPreference(undefined, 'off')).toBe('off');
    expect(parseOffloadPreference('', 'auto')).toBe('auto');
    expect(parseOffloadPreference('on', 'off')).toBe('on');
    expect(() => parseOffloadPreference('fast', 'off')).toThrow(/arca-net.offload "fast"/);
  });
});
