import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, scanFrames } from '../lib/index.js';
import { addon } from '../lib/native.js';
import { codecCases, offloadCases } from './codec-cases.js';

type Scan = (data: Uint8Array, max: number, framing: 'plain' | 'offload') => unknown;
const implementations: Array<{ name: string; scan: Scan }> = [
  {
    name: 'native',
    scan: (data, max, framing) => addon.scanFrames(data, max, framing === 'offload'),
  },
  { name: 'ts', scan: (data, max, framing) => scanFrames(data, max, framing) },
];

describe.each(implementations)('$name frame codec', ({ scan }) => {
  it.each([...codecCases, ...offloadCases])('$name', (c) => {
    const result = scan(Buffer.from(c.hex, 'hex'), c.maxFrame, c.framing ?? 'plain');
    expect(result).toEqual({
      complete: c.complete,
      frames: c.frames,
      payload: c.payload,
      error: c.error,
      badLength: c.badLength,
      badHeader: c.badHeader ?? '',
    });
  });
});

describe('FrameDecoder', () => {
  it('reassembles frames split at every byte boundary', () => {
    const wire = Buffer.concat([
      encodeFrame(Buffer.from('abc')),
      encodeFrame(Buffer.alloc(1000, 7)),
    ]);
    for (let split = 0; split <= wire.length; split++) {
      const decoder = new FrameDecoder();
      const first = decoder.push(wire.subarray(0, split));
      const second = decoder.push(wire.subarray(split));
      expect(first.frames + second.frames).toBe(2);
      expect(Buffer.concat([first.complete, second.complete])).toEqual(wire);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('reports a bad length and keeps earlier frames', () => {
    const decoder = new FrameDecoder(100);
    const out = decoder.push(
      Buffer.concat([encodeFrame(Buffer.from('x')), Buffer.from('000000c8', 'hex')]),
    );
    expect(out.frames).toBe(1);
    expect(out.error).toBe(200);
  });
});
