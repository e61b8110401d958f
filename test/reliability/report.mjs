#!/usr/bin/env node
/**
 * `make soak`'s report: reads the JSON the fault and frame suites merged into
 * FILE (`ARCA_NET_RELIABILITY_OUT`) and writes FILE's Markdown twin (.md).
 * Exits 1 when a frame was corrupted, reordered or duplicated, a fault did
 * not recover or a hostile case was not contained.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2] ?? 'bench/results/reliability.json';
const report = JSON.parse(readFileSync(file, 'utf8'));
const frames = report.frames ?? {};
const at = frames.droppedAt ?? {};
const faults = report.faults ?? [];
const hostile = report.hostile ?? [];
const lines = [
  '# Reliability (make soak)',
  '',
  `Written ${new Date().toISOString()}.`,
  '',
  '## Frames',
  '',
  '| sent | received | corrupted | reordered | duplicated | dropped |',
  '|---|---|---|---|---|---|',
  `| ${frames.sent ?? '-'} | ${frames.received ?? '-'} | ${frames.corrupted ?? '-'} | ${frames.reordered ?? '-'} | ${frames.duplicated ?? '-'} | ${frames.dropped ?? '-'} |`,
  '',
  'Dropped at (sums of the counters `lab stats` shows):',
  '',
  "| relays | container TAPs | helper TAPs | OVS ports | receivers' sockets | unattributed |",
  '|---|---|---|---|---|---|',
  `| ${at.relay ?? '-'} | ${at.containerTap ?? '-'} | ${at.helperTap ?? '-'} | ${at.ovsPort ?? '-'} | ${at.receiverSocket ?? '-'} | ${at.unattributed ?? '-'} |`,
  '',
  '## Faults (kill -9 mid-traffic; recovery = longest gap between ping replies every 50 ms)',
  '',
  '| fault | recovered | recovery (s) |',
  '|---|---|---|',
  ...faults.map((f) => `| ${f.name} | ${f.recovered ? 'yes' : 'NO'} | ${f.recoverySeconds} |`),
  '',
  '## Hostile containers',
  '',
  '| case | contained | detail |',
  '|---|---|---|',
  ...hostile.map((h) => `| ${h.name} | ${h.contained ? 'yes' : 'NO'} | ${h.detail} |`),
  '',
];
writeFileSync(file.replace(/\.json$/, '.md'), lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
const bad =
  (frames.corrupted ?? 1) + (frames.reordered ?? 1) + (frames.duplicated ?? 1) > 0 ||
  faults.length === 0 ||
  faults.some((f) => !f.recovered) ||
  hostile.some((h) => !h.contained);
process.exit(bad ? 1 : 0);
