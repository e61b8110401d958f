/**
 * Benchmarks that live beside their component as standalone scripts
 * (`bench/controller/run.mjs`, `bench/forwarder/run.mjs`) print one JSON
 * object; these adapters run them and turn their summaries into figures.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@arca-net/lab';
import type { Figure } from '../figures.js';
import type { Summary } from '../stats.js';

const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function runScript(script: string, args: string[], timeoutMs: number): Promise<unknown> {
  const { stdout } = await runCommand([process.execPath, path.join(benchRoot, script), ...args], {
    timeoutMs,
  });
  return JSON.parse(stdout) as unknown;
}

/** p50/p99 of CreateBridge, AttachContainer, DetachContainer, DeleteBridge against real OVN. */
export async function runControllerSuite(quick: boolean): Promise<Figure[]> {
  const calls = quick ? 10 : 100;
  const result = (await runScript(
    'controller/run.mjs',
    ['--calls', String(calls)],
    600_000,
  )) as Record<string, Summary>;
  return (
    [
      ['createBridge', 'CreateBridge'],
      ['attachContainer', 'AttachContainer (OVN port up)'],
      ['detachContainer', 'DetachContainer'],
      ['deleteBridge', 'DeleteBridge'],
    ] as const
  ).map(([key, metric]) => {
    const summary = result[key]!;
    return {
      suite: 'controller',
      metric,
      config: 'arca-net',
      unit: 'ms',
      better: 'lower',
      value: summary.p50,
      summary,
      params: { calls },
    };
  });
}

interface ForwarderResult {
  startMs: number;
  rssAfterStartMiB: number;
  rssWith4DevicesMiB: number;
  attachToFirstFrameMs: Summary;
  dnsKnownUs: Summary;
  dnsUnknownForwardedUs: Summary;
}

/** The forwarder bundle's RSS, attach-to-first-frame time and embedded DNS latency. */
export async function runForwarderSuite(quick: boolean): Promise<Figure[]> {
  const args = ['--bundle', '--rounds', quick ? '10' : '50', '--queries', quick ? '200' : '1000'];
  const r = (await runScript('forwarder/run.mjs', args, 600_000)) as ForwarderResult;
  const base = { suite: 'forwarder', config: 'arca-net' } as const;
  const latency = (metric: string, unit: string, summary: Summary): Figure => ({
    ...base,
    metric,
    unit,
    better: 'lower',
    value: summary.p50,
    summary,
  });
  return [
    { ...base, metric: 'start to serving', unit: 'ms', better: 'lower', value: r.startMs },
    { ...base, metric: 'RSS after start', unit: 'MiB', better: 'lower', value: r.rssAfterStartMiB },
    {
      ...base,
      metric: 'RSS with 4 devices',
      unit: 'MiB',
      better: 'lower',
      value: r.rssWith4DevicesMiB,
    },
    latency('AttachNetwork to first frame', 'ms', r.attachToFirstFrameMs),
    latency('DNS known name', 'µs', r.dnsKnownUs),
    latency('DNS unknown name (forwarded)', 'µs', r.dnsUnknownForwardedUs),
  ];
}

interface HelperImageResult {
  imageMB: number;
  startToServingMs: Summary;
  rssIdleMiB: number;
  rssAttachedMiB: number;
  attachments: number;
}

/** The helper-VM test image: size, `docker run` to SERVING, controller RSS idle and with attachments. */
export async function runHelperImageSuite(quick: boolean): Promise<Figure[]> {
  const runs = quick ? 1 : 5;
  const result = (await runScript(
    'helpervm-image/run.mjs',
    ['--runs', String(runs), '--attachments', '100'],
    900_000,
  )) as HelperImageResult;
  const one = (metric: string, unit: string, value: number, params = {}): Figure => ({
    suite: 'helpervm-image',
    metric,
    config: 'arca-net',
    unit,
    better: 'lower',
    value,
    params,
  });
  return [
    one('image size (Debian 12 test image)', 'MB', result.imageMB),
    {
      ...one('docker run → controller SERVING', 'ms', result.startToServingMs.p50, { runs }),
      summary: result.startToServingMs,
    },
    one('controller RSS idle', 'MiB', result.rssIdleMiB),
    one(`controller RSS with ${result.attachments} attachments`, 'MiB', result.rssAttachedMiB, {
      attachments: result.attachments,
    }),
  ];
}
