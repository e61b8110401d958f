/**
 * `make soak`'s report file: every suite merges its part into the JSON at
 * `ARCA_NET_RELIABILITY_OUT` (nothing is written without it);
 * test/reliability/report.mjs turns it into Markdown.
 */
import { readFile, writeFile } from 'node:fs/promises';

/** One hostile case of the report: was it contained, and what was seen. */
export interface HostileCase {
  name: string;
  contained: boolean;
  detail: string;
}

/** The report's shape (each suite fills its part). */
export interface ReliabilityReport {
  /** Totals, and `droppedAt`: the drops by place (frames.test.ts). */
  frames?: Record<string, number | Record<string, number>>;
  faults?: Array<{ name: string; recovered: boolean; recoverySeconds: number }>;
  hostile?: HostileCase[];
  [part: string]: unknown;
}

/** Reads the report, lets `update` change it and writes it back; a no-op without ARCA_NET_RELIABILITY_OUT. */
export async function mergeReliabilityReport(
  update: (report: ReliabilityReport) => ReliabilityReport,
): Promise<void> {
  const out = process.env.ARCA_NET_RELIABILITY_OUT;
  if (!out) return;
  const report = JSON.parse(await readFile(out, 'utf8').catch(() => '{}')) as ReliabilityReport;
  await writeFile(out, JSON.stringify(update(report), null, 2));
}

/** Appends hostile cases to the report (other suites' cases are kept). */
export function addHostileCases(cases: HostileCase[]): Promise<void> {
  return mergeReliabilityReport((report) => ({
    ...report,
    hostile: [...(report.hostile ?? []), ...cases],
  }));
}
