import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Figure } from '../src/figures.js';
import type { MachineInfo } from '../src/machine.js';
import {
  renderPerformanceSection,
  SECTION_END,
  SECTION_START,
  updateReadme,
} from '../src/readme.js';
import { type BenchRun, buildRun } from '../src/report.js';

const machine: MachineInfo = {
  cpu: 'Test CPU',
  cores: 2,
  memoryGiB: 24,
  kernel: '6.1.0',
  node: 'v20.0.0',
  ovs: 'ovs-vswitchd 3.1.0',
  ovn: 'ovn-northd 23.03.1',
};

function ping(config: string, value: number): Figure {
  return {
    suite: 'path',
    metric: 'ping container→container',
    config,
    unit: 'µs',
    better: 'lower',
    value,
  };
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-readme-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function run(figures: Figure[]): BenchRun {
  return buildRun(figures, [], machine, new Date('2026-12-01T00:00:00Z'), false);
}

describe('README performance section', () => {
  it('shows each configuration and arca-net relative to floor-ovs and to the polling relay', () => {
    const text = renderPerformanceSection(
      run([ping('floor-ovs', 200), ping('arca-net', 500), ping('arca-net-polling', 5000)]),
    );
    expect(text.startsWith(SECTION_START)).toBe(true);
    expect(text.endsWith(SECTION_END)).toBe(true);
    expect(text).toContain('| figure | floor-ovs | arca-net | arca-net-polling |');
    expect(text).toContain('| ping container→container (µs) | 200 | 500 | 5,000 | 2.50× | 0.10× |');
    expect(text).toContain('2026-12-01');
  });

  it('quotes the alternating offload runs against their floor', () => {
    const iperf = (config: string, value: number): Figure => ({
      suite: 'offload-throughput',
      metric: 'iperf3 TCP 1 stream, alternating runs on one lab',
      config,
      unit: 'Gbit/s',
      better: 'higher',
      value,
    });
    const text = renderPerformanceSection(
      run([iperf('floor-ovs-tso', 10), iperf('arca-net-offload', 4.5)]),
    );
    expect(text).toContain(
      '- `arca-net-offload` against `floor-ovs-tso`, iperf3 runs alternating on one lab (medians): 1 stream 4.50 against 10.0 Gbit/s (0.45×).',
    );
  });

  it('replaces only the text between the markers', () => {
    const dir = tempDir();
    const file = join(dir, 'README.md');
    writeFileSync(file, `# top\n\n${SECTION_START}\nold\n${SECTION_END}\n\n## after\n`);
    updateReadme(file, run([ping('arca-net', 500)]));
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# top\n\n')).toBe(true);
    expect(text.endsWith(`${SECTION_END}\n\n## after\n`)).toBe(true);
    expect(text).not.toContain('\nold\n');
    expect(text).toContain('| ping container→container (µs) | 500 |');
  });

  it('refuses a README without the markers and leaves it unchanged', () => {
    const dir = tempDir();
    const file = join(dir, 'README.md');
    writeFileSync(file, '# no markers\n');
    expect(() => updateReadme(file, run([]))).toThrow(/no <!-- bench:performance:start -->/);
    expect(readFileSync(file, 'utf8')).toBe('# no markers\n');
  });
});
