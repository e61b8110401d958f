import { Resvg } from '@resvg/resvg-js';
import type { Figure } from './figures.js';
import type { BenchRun } from './report.js';

const PANEL_W = 560;
const PANEL_H = 300;
const MARGIN = { left: 70, right: 20, top: 34, bottom: 46 };
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];

interface Panel {
  title: string;
  svg: (x: number, y: number) => string;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!,
  );
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exp >= value) return step * exp;
  return 10 * exp;
}

function axes(
  x: number,
  y: number,
  title: string,
  xLabel: string,
  xMax: number,
  yLabels: string[],
): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  const ox = x + MARGIN.left;
  const oy = y + MARGIN.top + h;
  const parts = [
    `<text x="${x + PANEL_W / 2}" y="${y + 20}" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<line x1="${ox}" y1="${oy}" x2="${ox + w}" y2="${oy}" stroke="#333"/>`,
    `<line x1="${ox}" y1="${oy}" x2="${ox}" y2="${oy - h}" stroke="#333"/>`,
    `<text x="${ox + w / 2}" y="${oy + 36}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`,
  ];
  if (xMax > 0) {
    for (let i = 0; i <= 4; i++) {
      const tx = ox + (w * i) / 4;
      parts.push(
        `<line x1="${tx}" y1="${oy}" x2="${tx}" y2="${oy + 4}" stroke="#333"/>`,
        `<text x="${tx}" y="${oy + 17}" text-anchor="middle" font-size="11">${+((xMax * i) / 4).toPrecision(3)}</text>`,
      );
    }
  }
  yLabels.forEach((label, i) => {
    const ty = oy - (h * i) / Math.max(1, yLabels.length - 1);
    parts.push(
      `<text x="${ox - 6}" y="${ty + 4}" text-anchor="end" font-size="11">${escapeXml(label)}</text>`,
    );
  });
  return parts.join('');
}

/** Cumulative distribution of each config's raw samples for one latency metric. */
function cdfPanel(
  metric: string,
  unit: string,
  figures: Figure[],
  colorOf: (c: string) => string,
): Panel {
  const xMax = niceMax(Math.max(...figures.map((f) => f.summary?.p99 ?? f.value)) * 1.15);
  return {
    title: `${metric} (CDF)`,
    svg: (x, y) => {
      const w = PANEL_W - MARGIN.left - MARGIN.right;
      const h = PANEL_H - MARGIN.top - MARGIN.bottom;
      const ox = x + MARGIN.left;
      const oy = y + MARGIN.top + h;
      const lines = figures.map((f, i) => {
        const sorted = [...(f.raw ?? [])].sort((a, b) => a - b);
        const step = Math.max(1, Math.floor(sorted.length / 400));
        const points: string[] = [];
        for (let k = 0; k < sorted.length; k += step) {
          const px = ox + Math.min(1, sorted[k]! / xMax) * w;
          const py = oy - ((k + 1) / sorted.length) * h;
          points.push(`${px.toFixed(1)},${py.toFixed(1)}`);
        }
        const color = colorOf(f.config);
        return (
          `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>` +
          `<text x="${ox + w - 4}" y="${y + MARGIN.top + 14 + i * 15}" text-anchor="end" font-size="12" fill="${color}">${escapeXml(f.config)} p50 ${+(f.summary?.p50 ?? f.value).toPrecision(3)} ${escapeXml(unit)}</text>`
        );
      });
      return axes(x, y, `${metric} (CDF)`, unit, xMax, ['0', '0.5', '1']) + lines.join('');
    },
  };
}

/** Horizontal bars of one rate/throughput metric across configs. */
function barPanel(
  metric: string,
  unit: string,
  figures: Figure[],
  colorOf: (c: string) => string,
): Panel {
  const xMax = niceMax(Math.max(...figures.map((f) => f.value)) * 1.1);
  return {
    title: metric,
    svg: (x, y) => {
      const w = PANEL_W - MARGIN.left - MARGIN.right;
      const h = PANEL_H - MARGIN.top - MARGIN.bottom;
      const ox = x + MARGIN.left;
      const band = h / figures.length;
      const bars = figures.map((f, i) => {
        const by = y + MARGIN.top + i * band + band * 0.15;
        const bw = (f.value / xMax) * w;
        return (
          `<rect x="${ox}" y="${by}" width="${bw.toFixed(1)}" height="${(band * 0.7).toFixed(1)}" fill="${colorOf(f.config)}"/>` +
          `<text x="${ox + 4}" y="${by + band * 0.35 + 4}" font-size="12" fill="#fff">${escapeXml(f.config)}</text>` +
          `<text x="${ox + bw + 4}" y="${by + band * 0.35 + 4}" font-size="11">${+f.value.toPrecision(3)}</text>`
        );
      });
      return axes(x, y, metric, unit, xMax, []) + bars.join('');
    },
  };
}

/** The plot of a run as SVG: latency CDFs first, then throughput/rate bars. */
export function renderPlotSvg(run: BenchRun): string {
  const configs = [...new Set(run.figures.map((f) => f.config))];
  const colorOf = (config: string) => PALETTE[configs.indexOf(config) % PALETTE.length]!;
  const panels: Panel[] = [];
  const groups = new Map<string, Figure[]>();
  for (const f of run.figures) {
    const key = `${f.suite}\u0000${f.metric}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  for (const figures of groups.values()) {
    const first = figures[0]!;
    if (figures.every((f) => f.raw && f.raw.length > 0) && first.better === 'lower') {
      panels.push(cdfPanel(`${first.suite}: ${first.metric}`, first.unit, figures, colorOf));
    }
  }
  for (const figures of groups.values()) {
    const first = figures[0]!;
    if (first.better === 'higher' && figures.length > 1) {
      panels.push(barPanel(`${first.suite}: ${first.metric}`, first.unit, figures, colorOf));
    }
  }
  const shown = panels.slice(0, 12);
  const cols = 2;
  const rows = Math.max(1, Math.ceil(shown.length / cols));
  const width = cols * PANEL_W;
  const height = rows * PANEL_H + 40;
  const body = shown.map((p, i) =>
    p.svg((i % cols) * PANEL_W, 40 + Math.floor(i / cols) * PANEL_H),
  );
  if (shown.length === 0) {
    body.push(
      `<text x="${width / 2}" y="120" text-anchor="middle" font-size="16">no figures</text>`,
    );
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="18" font-weight="bold">arca-net benchmarks ${escapeXml(run.date.slice(0, 10))} — ${escapeXml(run.machine.cpu)}</text>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/** The plot rendered to PNG (headless, no browser). */
export async function renderPlotPng(run: BenchRun): Promise<Buffer> {
  const resvg = new Resvg(renderPlotSvg(run), {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
