import { describe, expect, it } from 'vitest';
import { DEFAULT_RECONNECT, type RedialState, redialDelay } from '../src/redial.js';

const fresh = (): RedialState => ({
  openedAt: 0,
  closeStreak: 0,
  protocolStreak: 0,
  protocolCloses: 0,
  quarantines: 0,
});
const policy = { ...DEFAULT_RECONNECT, initialDelayMs: 100, maxDelayMs: 800 };

describe('redialDelay', () => {
  it('re-dials at once after the first close, then doubles (with jitter) up to the cap', () => {
    const state = fresh();
    const delays = Array.from(
      { length: 7 },
      () => redialDelay(policy, state, { reason: 'eof' }, false, 1000).delayMs,
    );
    expect(delays[0]).toBe(0);
    const ceilings = [100, 200, 400, 800, 800, 800];
    ceilings.forEach((ceiling, i) => {
      expect(delays[i + 1]).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delays[i + 1]).toBeLessThanOrEqual(ceiling);
    });
  });

  it('starts over after a relay that carried traffic for healthyMs', () => {
    const state = fresh();
    for (let i = 0; i < 4; i++) redialDelay(policy, state, { reason: 'eof' }, false, 1000);
    state.openedAt = 1000;
    const after = redialDelay(policy, state, { reason: 'eof' }, true, 1000 + policy.healthyMs);
    expect(after.delayMs).toBe(0);
  });

  it('quarantines after quarantineAfter protocol-error closes in a row, and counts them', () => {
    const state = fresh();
    const results = Array.from({ length: policy.quarantineAfter }, () =>
      redialDelay(policy, state, { reason: 'protocol' }, false, 5000),
    );
    expect(results.slice(0, -1).every((r) => !r.quarantined)).toBe(true);
    expect(results.at(-1)).toEqual({ delayMs: policy.quarantineMs, quarantined: true });
    expect(state).toMatchObject({ protocolCloses: policy.quarantineAfter, quarantines: 1 });
    expect(state.quarantinedUntil).toBe(5000 + policy.quarantineMs);
  });

  it('a close for another reason breaks the protocol-error streak', () => {
    const state = fresh();
    for (let i = 0; i < policy.quarantineAfter - 1; i++) {
      redialDelay(policy, state, { reason: 'protocol' }, false);
    }
    redialDelay(policy, state, { reason: 'eof' }, false);
    expect(redialDelay(policy, state, { reason: 'protocol' }, false).quarantined).toBe(false);
  });
});
