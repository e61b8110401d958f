import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Figure, type Ratio, ratios } from './figures.js';
import type { MachineInfo } from './machine.js';
import { renderPlotPng } from './plot.js';

/** Everything one `make bench` run produced. */
export interface BenchRun {
  schema: 'arca-net-bench/1';
  date: string;
  quick: boolean;
  durationSeconds: number;
  machine: MachineInfo;
  figures: Figure[];
  ratios: Ratio[];
  /** Suites that failed, with the reason (a failed suite never hides behind missing rows). */
  failures: { suite: string; error: string }[];
}

/** Baselines every figure is compared with when present. */
export const BASELINES = ['floor-ovs', 'arca-net-polling', 'polling'] as const;

/** Offload mode against its floor, plain arca-net and a peer (issue 14's "done when"). */
export const OFFLOAD_CONFIG = 'arca-net-offload';
export const OFFLOAD_BASELINES = ['floor-ovs-tso', 'arca-net', 'arca-net-tso', 'peer-vde'] as const;

/** The baselines `config` is compared with. */
function baselinesOf(config: string): readonly string[] {
  return config === OFFLOAD_CONFIG ? [...BASELINES, ...OFFLOAD_BASELINES] : BASELINES;
}

export function buildRun(
  figures: Figure[],
  failures: BenchRun['failures'],
  machine: MachineInfo,
  startedAt: Date,
  quick: boolean,
): BenchRun {
  return {
    schema: 'arca-net-bench/1',
    date: startedAt.toISOString(),
    quick,
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine,
    figures,
    ratios: [...ratios(figures, BASELINES), ...ratios(figures, OFFLOAD_BASELINES, OFFLOAD_CONFIG)],
    failures,
  };
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1e6) return value.toExponential(2);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3);
}

/** The offload ratios of the throughput figures, first thing in latest.md. */
function offloadHeadline(run: BenchRun): string[] {
  const rows = run.ratios.filter(
    (r) =>
      (r.suite === 'path' || r.suite === 'offload-ping' || r.suite === 'offload-throughput') &&
      r.config === OFFLOAD_CONFIG &&
      (OFFLOAD_BASELINES as readonly string[]).includes(r.baseline) &&
      (r.metric.startsWith('iperf3 TCP') || r.metric.startsWith('ping container→container')),
  );
  if (rows.length === 0) return [];
  return [
    '',
    '## Offload mode at a glance',
    '',
    `| metric | ${OFFLOAD_BASELINES.map((b) => `${OFFLOAD_CONFIG} ÷ ${b}`).join(' | ')} |`,
    `|---|${OFFLOAD_BASELINES.map(() => '---:').join('|')}|`,
    ...[...new Set(rows.map((r) => r.metric))].map((metric) => {
      const cells = OFFLOAD_BASELINES.map((b) => {
        const r = rows.find((x) => x.metric === metric && x.baseline === b);
        return r ? `${format(r.ratio)}×` : '–';
      });
      return `| ${metric} | ${cells.join(' | ')} |`;
    }),
  ];
}

/** A person-readable table per suite: one row per metric, one column per config, plus ratios. */
export function renderMarkdown(run: BenchRun): string {
  const lines: string[] = [
    `# arca-net benchmarks — ${run.date.slice(0, 10)}`,
    '',
    `Machine: ${run.machine.cpu}, ${run.machine.cores} cores, ${run.machine.memoryGiB} GiB, ` +
      `Linux ${run.machine.kernel}, Node ${run.machine.node}, ${run.machine.ovs}, ${run.machine.ovn}. ` +
      `Run took ${run.durationSeconds} s${run.quick ? ' (QUICK=1)' : ''}.`,
    '',
    'Latencies are p50 (p99 in parentheses). Ratios are value ÷ baseline for the same metric: ' +
      'below 1 is smaller (better for latency and CPU, worse for rates).',
    ...offloadHeadline(run),
  ];
  const suites = [...new Set(run.figures.map((f) => f.suite))];
  for (const suite of suites) {
    const figures = run.figures.filter((f) => f.suite === suite);
    const configs = [...new Set(figures.map((f) => f.config))];
    const metrics = [...new Set(figures.map((f) => f.metric))];
    const baselinesFor = (c: string) =>
      baselinesOf(c).filter((b) => b !== c && configs.includes(b));
    lines.push('', `## ${suite}`, '');
    const ratioHeads = configs.flatMap((c) => baselinesFor(c).map((b) => `${c} ÷ ${b}`));
    lines.push(`| metric | unit | ${[...configs, ...ratioHeads].join(' | ')} |`);
    lines.push(`|---|---|${[...configs, ...ratioHeads].map(() => '---:').join('|')}|`);
    for (const metric of metrics) {
      const cells = configs.map((config) => {
        const f = figures.find((x) => x.metric === metric && x.config === config);
        if (!f) return '–';
        return f.summary ? `${format(f.summary.p50)} (${format(f.summary.p99)})` : format(f.value);
      });
      const ratioCells = configs.flatMap((config) =>
        baselinesFor(config).map((b) => {
          const r = run.ratios.find(
            (x) =>
              x.suite === suite && x.metric === metric && x.config === config && x.baseline === b,
          );
          return r ? `${format(r.ratio)}×` : '–';
        }),
      );
      const unit = figures.find((x) => x.metric === metric)?.unit ?? '';
      lines.push(`| ${metric} | ${unit} | ${[...cells, ...ratioCells].join(' | ')} |`);
    }
  }
  if (run.failures.length > 0) {
    lines.push('', '## Failed suites', '');
    for (const failure of run.failures) lines.push(`- **${failure.suite}**: ${failure.error}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `latest.json`, `latest.md` and `latest.png` into `dir`. */
export async function writeResults(run: BenchRun, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(run, (key, value) => (key === 'raw' ? undefined : value), 2);
  const files = {
    json: path.join(dir, 'latest.json'),
    md: path.join(dir, 'latest.md'),
    png: path.join(dir, 'latest.png'),
  };
  writeFileSync(files.json, `${json}\n`);
  writeFileSync(files.md, renderMarkdown(run));
  writeFileSync(files.png, await renderPlotPng(run));
  return Object.values(files);
}
