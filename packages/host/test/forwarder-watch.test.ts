import { silentLogger } from '@arca-net/log';
import { afterEach, describe, expect, it } from 'vitest';
import { ForwarderWatch } from '../src/forwarder-watch.js';
import type { ContainerRecord } from '../src/state.js';

const box: ContainerRecord = { id: 'c1', name: 'box', endpoint: null, running: true };

describe('ForwarderWatch', () => {
  let watch: ForwarderWatch | undefined;
  afterEach(() => watch?.stop());

  /** A watch (never ticking by itself) over one forwarder whose answers the test sets. */
  function setup(expected: number) {
    const seen = { answer: { uptimeSeconds: 10, activeNetworks: expected } as unknown, repairs: 0 };
    watch = new ForwarderWatch(
      {
        targets: () => [{ container: box, expected }],
        status: async () => {
          if (seen.answer instanceof Error) throw seen.answer;
          return seen.answer as { uptimeSeconds: number; activeNetworks: number };
        },
        repair: async () => {
          seen.repairs++;
        },
      },
      3_600_000,
      silentLogger,
    );
    return seen;
  }

  it('repairs a forwarder whose uptime went backwards, once', async () => {
    const fwd = setup(1);
    await watch?.poll();
    expect(fwd.repairs).toBe(0);
    fwd.answer = { uptimeSeconds: 0, activeNetworks: 1 };
    await watch?.poll();
    expect(fwd.repairs).toBe(1);
    await watch?.poll();
    expect(fwd.repairs).toBe(1);
    expect(watch?.observations()[0]).toMatchObject({ reachable: true, restarts: 1 });
  });

  it('repairs a forwarder that holds fewer devices than the container has ready attachments', async () => {
    const fwd = setup(2);
    fwd.answer = { uptimeSeconds: 3, activeNetworks: 0 };
    await watch?.poll();
    expect(fwd.repairs).toBe(1);
  });

  it('reports an unreachable forwarder as observed, with the error, and repairs nothing', async () => {
    const fwd = setup(1);
    fwd.answer = new Error('connect ECONNREFUSED');
    await watch?.poll();
    expect(fwd.repairs).toBe(0);
    expect(watch?.observations()).toEqual([
      expect.objectContaining({
        containerName: 'box',
        reachable: false,
        error: 'connect ECONNREFUSED',
      }),
    ]);
  });
});
