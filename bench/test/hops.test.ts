import { describe, expect, it } from 'vitest';
import { parseCapture } from '../src/suites/hops.js';

describe('tcpdump capture parsing', () => {
  it('keeps the first capture time of each echo request and reply by sequence number', () => {
    const out = [
      '1796159817.000100 IP 198.18.0.10 > 198.18.0.11: ICMP echo request, id 7, seq 1, length 64',
      '1796159817.000400 IP 198.18.0.11 > 198.18.0.10: ICMP echo reply, id 7, seq 1, length 64',
      '1796159817.000500 IP 198.18.0.10 > 198.18.0.11: ICMP echo request, id 7, seq 1, length 64',
      'tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
      '1796159817.010100 IP 198.18.0.10 > 198.18.0.11: ICMP echo request, id 7, seq 2, length 64',
    ].join('\n');
    const capture = parseCapture(out);
    expect([...capture.request]).toEqual([
      [1, 1796159817.0001],
      [2, 1796159817.0101],
    ]);
    expect([...capture.reply]).toEqual([[1, 1796159817.0004]]);
  });
});
