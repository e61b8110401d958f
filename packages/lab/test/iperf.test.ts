import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IperfError, parseIperfReport } from '../src/probes/iperf.js';

/** Reports captured from iperf3 3.12 (Debian 12) on loopback. */
const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('iperf3 report parsing', () => {
  it('reads the received TCP bytes and rate', () => {
    const result = parseIperfReport(fixture('iperf3-tcp.json'), 'tcp');
    expect(result.bytes).toBe(2_065_694_720);
    expect(result.bitsPerSecond).toBeCloseTo(16_524_252_344, 0);
  });

  it('counts delivered UDP packets net of the lost ones', () => {
    const result = parseIperfReport(fixture('iperf3-udp.json'), 'udp');
    expect(result.lostPercent).toBeCloseTo(2.047, 3);
    expect(result.packetsPerSecond).toBeCloseTo(
      (255_780 * (1 - 0.02047071702244116)) / 1.000083,
      0,
    );
  });

  it("throws iperf3's own error when it could not connect (the report exits 0 with an empty end)", () => {
    expect(() => parseIperfReport(fixture('iperf3-refused.json'), 'tcp')).toThrow(
      new IperfError('iperf3: unable to connect to server: Connection refused'),
    );
  });

  it('throws with stderr when stdout is not a report', () => {
    expect(() => parseIperfReport('', 'tcp', 'iperf3: error - no such host\n')).toThrow(
      'iperf3: no JSON report: iperf3: error - no such host',
    );
  });
});
