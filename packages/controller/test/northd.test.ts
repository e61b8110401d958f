import { describe, expect, it } from 'vitest';
import { awaitNorthd, type NorthdStatus } from '../src/ovn/northd.js';

const down: NorthdStatus = { running: false, detail: 'no such file' };
const up: NorthdStatus = { running: true, detail: 'active' };

/** A probe that answers `answers` in turn (the last one from then on), counting its calls. */
function prober(...answers: Array<NorthdStatus | undefined>) {
  const probe = async () => answers[Math.min(probe.calls++, answers.length - 1)];
  probe.calls = 0;
  return probe;
}

describe('awaitNorthd', () => {
  it('resolves with the first answer when northd runs, or when this helper runs none', async () => {
    const running = prober(up);
    expect(await awaitNorthd(running, 1000)).toEqual(up);
    const none = prober(undefined);
    expect(await awaitNorthd(none, 1000)).toBeUndefined();
    expect(running.calls + none.calls).toBe(2);
  });

  it('probes again until northd is back', async () => {
    const probe = prober(down, down, up);
    expect(await awaitNorthd(probe, 30_000, 1)).toEqual(up);
    expect(probe.calls).toBe(3);
  });

  it('gives up with the last status once the grace has passed', async () => {
    const probe = prober(down);
    expect(await awaitNorthd(probe, 50, 5)).toEqual(down);
    expect(probe.calls).toBeGreaterThan(1);
  });
});
