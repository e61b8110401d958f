import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable, Progress } from '../src/output.js';

describe('output', () => {
  it('aligns table columns with three spaces and no trailing blanks', () => {
    const text = formatTable(
      ['NETWORK ID', 'NAME', 'DRIVER'],
      [
        ['0123456789ab', 'front', 'ovn'],
        ['ba9876543210', 'back-end', 'ovn'],
      ],
    );
    expect(text).toBe(
      [
        'NETWORK ID     NAME       DRIVER',
        '0123456789ab   front      ovn',
        'ba9876543210   back-end   ovn',
        '',
      ].join('\n'),
    );
  });

  it('formats durations for people', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(1530)).toBe('1.5 s');
  });

  it('prints a tick line for a finished step when not on a terminal, nothing for a failed one', async () => {
    let err = '';
    const io = {
      out: () => undefined,
      err: (t: string) => {
        err += t;
      },
      interactive: false,
    };
    await Progress.run(io, 'step one', async () => 1);
    await expect(
      Progress.run(io, 'step two', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(err).toMatch(/^ {2}✔ step one \(\d+ ms\)\n$/);
  });
});
