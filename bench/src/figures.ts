import type { Summary } from './stats.js';

/** Whether a smaller or a larger value is better; used for ratios and the table. */
export type Better = 'lower' | 'higher';

/**
 * One measured figure: a metric of one configuration. Latencies carry a full
 * summary; rates and totals carry one value (`samples` says how many runs).
 */
export interface Figure {
  /** Group, e.g. `relay`, `path`, `control-plane`, `forwarder`. */
  suite: string;
  /** What was measured, e.g. `ping container→container`. */
  metric: string;
  /** Which configuration, e.g. `native`, `floor-ovs`, `arca-net`. */
  config: string;
  unit: string;
  better: Better;
  /** The headline value (p50 for latencies). */
  value: number;
  summary?: Summary;
  /** Free-form details: frame size, streams, command line… */
  params?: Record<string, string | number | boolean>;
  /** Raw samples, kept in memory for the plot and never written to JSON. */
  raw?: number[];
}

/** A figure of one configuration relative to another for the same metric. */
export interface Ratio {
  suite: string;
  metric: string;
  config: string;
  baseline: string;
  /** value(config) / value(baseline). */
  ratio: number;
}

/**
 * Ratios of every config against each baseline present for the same suite+metric;
 * with `only`, of that config alone.
 */
export function ratios(
  figures: readonly Figure[],
  baselines: readonly string[],
  only?: string,
): Ratio[] {
  const out: Ratio[] = [];
  for (const figure of figures) {
    if (only !== undefined && figure.config !== only) continue;
    for (const baseline of baselines) {
      if (figure.config === baseline) continue;
      const base = figures.find(
        (f) => f.suite === figure.suite && f.metric === figure.metric && f.config === baseline,
      );
      if (!base || base.value === 0) continue;
      out.push({
        suite: figure.suite,
        metric: figure.metric,
        config: figure.config,
        baseline,
        ratio: figure.value / base.value,
      });
    }
  }
  return out;
}
