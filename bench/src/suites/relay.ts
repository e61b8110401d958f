/**
 * The relay engines side by side: `native` (the addon's epoll threads), `ts` (the pure-TS
 * reference relay) and `polling` (the old design with a 1 ms sleep when idle, the baseline).
 * Each is measured on a chain of three relays, as a frame crosses container → host → helper:
 *
 *   endpoint near ⟷ relay 1 ⟷ relay 2 ⟷ relay 3 ⟷ endpoint far
 *
 * The endpoints are `relay-endpoint.c` (compiled on first use into `bench/dist/`), a child
 * process holding both ends, so they cost next to nothing next to the relays. Figures:
 * round-trip latency of 64- and 1500-byte frames, throughput of 1500- and 65536-byte frames
 * (frames/s and payload Gbit/s), the CPU the relay threads burn while 100 idle relays are
 * open, and (native engine) how much the process's RSS grows over 10 000 relays opened, used
 * and closed after a warm-up (a leak of 1 KiB per relay would show as ~10 MiB).
 *
 * Run just this suite (after `pnpm exec tsc -b`): `BENCH_ONLY=relay make bench`, or without the
 * setup step `BENCH_ONLY=relay node bench/dist/main.js`; add `QUICK=1` for the short version
 * (about 20 s instead of about a minute).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { runCommand } from '@arca-net/lab';
import {
  encodeFrame,
  type FrameRelay,
  PollingRelay,
  Relay,
  type RelayEnd,
  type RelayStats,
  relayLoopThreads,
  socketPair,
  TsRelay,
} from '@arca-net/vsock';
import { threadsCpuSeconds } from '../cpu.js';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';

/** The relay implementations under test; `polling` is the baseline of the report's ratios. */
export type RelayEngine = 'native' | 'ts' | 'polling';

const ENGINES: readonly RelayEngine[] = ['native', 'ts', 'polling'];

const OPEN: Record<RelayEngine, (a: RelayEnd, b: RelayEnd) => FrameRelay> = {
  native: (a, b) => Relay.open(a, b),
  ts: (a, b) => TsRelay.open(a, b),
  polling: (a, b) => PollingRelay.open(a, b),
};

/** Relays between the two endpoints, like container → host → helper. */
const HOPS = 3;
const FRAME_HEADER = 4;
const RTT_PAYLOADS = [64, 1500] as const;
const TPUT_PAYLOADS = [1500, 65536] as const;
const IDLE_RELAYS = 100;
/** Idle CPU is reported per this many seconds, whatever the window measured. */
const IDLE_REPORT_SECONDS = 10;
/** Relays opened and closed while RSS growth is measured, after the warm-up. */
const CHURN_RELAYS = 10_000;
/** Relays open at once during the churn. */
const CHURN_BATCH = 500;
/** Relays of each batch that carry a frame (so their buffers get allocated too). */
const CHURN_PROBES = 10;
/** How long a relay may take to report it closed after close() before that is a failure. */
const CLOSE_TIMEOUT_MS = 5_000;

/** How long each measurement runs. */
interface RelayBudget {
  rttSamples: number;
  /** The polling relay sleeps 1 ms per idle hop: its round trips cost ~4 ms, so fewer of them. */
  pollingRttSamples: number;
  rttWarmup: number;
  tputWarmupMs: number;
  tputMeasureMs: number;
  idleSeconds: number;
  /**
   * Relays churned before RSS is read: until loop threads, JIT and what V8 and malloc keep
   * for reuse have settled (growth per 10 000 relays falls from ~17 MiB in the first round to
   * ~2 MiB by the third and stays flat for 400 000 relays).
   */
  churnWarmup: number;
}

const FULL: RelayBudget = {
  rttSamples: 2000,
  pollingRttSamples: 1000,
  rttWarmup: 100,
  tputWarmupMs: 500,
  tputMeasureMs: 3000,
  idleSeconds: 10,
  churnWarmup: 30_000,
};
const QUICK: RelayBudget = {
  rttSamples: 200,
  pollingRttSamples: 100,
  rttWarmup: 20,
  tputWarmupMs: 100,
  tputMeasureMs: 500,
  idleSeconds: 2,
  churnWarmup: 10_000,
};

const benchRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENDPOINT_SOURCE = path.join(benchRoot, 'src', 'suites', 'relay-endpoint.c');
const ENDPOINT_BINARY = path.join(benchRoot, 'dist', 'relay-endpoint');

/**
 * Round-trip latency, throughput and idle CPU of the native, TS and polling relay engines,
 * each on a chain of three relays. Tries every measurement; if any failed (an engine that
 * lost data, hung or did not close), throws one error naming every failure.
 */
export async function runRelaySuite(
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const budget = quick ? QUICK : FULL;
  const endpoint = await ensureEndpoint(log);
  const figures: Figure[] = [];
  const failures: string[] = [];
  const attempt = async (what: string, measure: () => Promise<Figure[]>): Promise<void> => {
    try {
      figures.push(...(await measure()));
    } catch (error) {
      const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
      log(`relay: FAILED ${message}`);
      failures.push(message);
    }
  };
  // Idle CPU first, before this process has moved any traffic: afterwards the
  // JS thread's garbage collection of the busy measurements would count as idle cost.
  for (const engine of ENGINES) {
    await attempt(`${engine} idle CPU`, () => measureIdleCpu(engine, budget, log));
  }
  await attempt('native RSS growth', () => measureChurnRss(budget, log));
  for (const engine of ENGINES) {
    for (const payload of RTT_PAYLOADS) {
      await attempt(`${engine} round trip ${payload} B`, () =>
        measureRoundTrip(endpoint, engine, payload, budget, log),
      );
    }
    for (const payload of TPUT_PAYLOADS) {
      await attempt(`${engine} throughput ${payload} B`, () =>
        measureThroughput(endpoint, engine, payload, budget, log),
      );
    }
  }
  if (failures.length > 0) throw new Error(`relay suite: ${failures.join('; ')}`);
  return figures;
}

/** Compiles the endpoint into bench/dist when it is missing or older than its source. */
async function ensureEndpoint(log: (line: string) => void): Promise<string> {
  const source = statSync(ENDPOINT_SOURCE).mtimeMs;
  let binary: number | undefined;
  try {
    binary = statSync(ENDPOINT_BINARY).mtimeMs;
  } catch {
    binary = undefined;
  }
  if (binary !== undefined && binary >= source) return ENDPOINT_BINARY;
  log(`relay: compiling ${path.relative(benchRoot, ENDPOINT_SOURCE)}`);
  mkdirSync(path.dirname(ENDPOINT_BINARY), { recursive: true });
  // Build beside the target and rename, so a concurrent run never executes half a binary.
  const partial = `${ENDPOINT_BINARY}.${process.pid}.tmp`;
  await runCommand(['cc', '-O2', '-pthread', '-o', partial, ENDPOINT_SOURCE], {
    timeoutMs: 60_000,
  });
  renameSync(partial, ENDPOINT_BINARY);
  return ENDPOINT_BINARY;
}

/**
 * Relays of one engine in a row over socketpairs. Owns the relays and, until they are handed
 * over with {@link RelayChain.closeEnds}, the two outer ends.
 */
class RelayChain {
  readonly relays: FrameRelay[];
  readonly near: number;
  readonly far: number;
  #endsOpen = true;

  private constructor(relays: FrameRelay[], near: number, far: number) {
    this.relays = relays;
    this.near = near;
    this.far = far;
  }

  /** Opens `hops` relays of `engine` between two fresh outer ends; leaves nothing open on a throw. */
  static open(engine: RelayEngine, hops: number): RelayChain {
    const relays: FrameRelay[] = [];
    const loose = new Set<number>();
    try {
      const [near, first] = socketPair();
      loose.add(near).add(first);
      let inner = first;
      for (let i = 0; i < hops; i++) {
        const [out, next] = socketPair();
        loose.add(out).add(next);
        relays.push(OPEN[engine]({ kind: 'stream', fd: inner }, { kind: 'stream', fd: out }));
        loose.delete(inner);
        loose.delete(out);
        inner = next;
      }
      return new RelayChain(relays, near, inner);
    } catch (error) {
      for (const relay of relays) relay.close();
      for (const fd of loose) closeSync(fd);
      throw error;
    }
  }

  /** Closes this process's copies of the outer ends (after a child inherited them). Idempotent. */
  closeEnds(): void {
    if (!this.#endsOpen) return;
    this.#endsOpen = false;
    closeSync(this.near);
    closeSync(this.far);
  }

  /** Closes every relay and end, and waits until each relay reports it closed. */
  async close(): Promise<void> {
    this.closeEnds();
    for (const relay of this.relays) relay.close();
    await Promise.all(this.relays.map((relay, i) => closedWithin(relay, `relay ${i + 1}`)));
  }

  /** Final stats of every relay, near first. */
  stats(): RelayStats[] {
    return this.relays.map((relay) => relay.stats());
  }
}

async function closedWithin(relay: FrameRelay, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([relay.whenClosed().then(() => 'closed' as const), gaveUp]);
    if (result === 'timeout') {
      throw new Error(`${name} did not report closed within ${CLOSE_TIMEOUT_MS} ms of close()`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a chain, runs `measure` on it and closes everything, whatever happens; resolves with
 * the result and every relay's final stats.
 */
async function withChain<T>(
  engine: RelayEngine,
  measure: (chain: RelayChain) => Promise<T>,
): Promise<{ result: T; stats: RelayStats[] }> {
  const chain = RelayChain.open(engine, HOPS);
  let result: T;
  try {
    result = await measure(chain);
  } catch (error) {
    await chain.close().catch(() => undefined);
    throw error;
  }
  await chain.close();
  return { result, stats: chain.stats() };
}

/**
 * Runs the endpoint on the chain's outer ends (fd 3 near, fd 4 far) and resolves with its
 * stdout; the chain's copies of the ends are closed once the child holds them.
 */
function runEndpoint(
  binary: string,
  args: readonly string[],
  chain: RelayChain,
  timeoutMs: number,
): Promise<string> {
  const argv = [binary, ...args].join(' ');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe', chain.near, chain.far] });
  } finally {
    chain.closeEnds();
  }
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${argv}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`${argv} timed out after ${timeoutMs} ms (chain stalled?)`));
      } else if (code !== 0) {
        reject(new Error(`${argv} failed (${code ?? signal}): ${stderr.trim()}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** Every relay moved `frames` frames of `payload` bytes in the direction(s) given, nothing lost. */
function checkRelayed(
  stats: readonly RelayStats[],
  payload: number,
  expect: { aToB: number | 'same'; bToA: number },
): void {
  const first = stats[0]?.aToB.frames ?? 0;
  if (expect.aToB === 'same' && first === 0) throw new Error('relay 1 moved no frames');
  stats.forEach((s, i) => {
    const aToB = expect.aToB === 'same' ? first : expect.aToB;
    const problems: string[] = [];
    if (s.aToB.frames !== aToB) problems.push(`${s.aToB.frames} frames a→b, expected ${aToB}`);
    if (s.bToA.frames !== expect.bToA)
      problems.push(`${s.bToA.frames} frames b→a, expected ${expect.bToA}`);
    if (s.aToB.bytes !== s.aToB.frames * payload || s.bToA.bytes !== s.bToA.frames * payload)
      problems.push(
        `byte counts ${s.aToB.bytes}/${s.bToA.bytes} are not whole ${payload}-byte frames`,
      );
    const drops = s.aToB.drops + s.bToA.drops;
    const errors = s.aToB.protocolErrors + s.bToA.protocolErrors;
    if (drops + errors > 0) problems.push(`${drops} drops, ${errors} protocol errors`);
    if (problems.length > 0) throw new Error(`relay ${i + 1}: ${problems.join(', ')}`);
  });
}

async function measureRoundTrip(
  endpoint: string,
  engine: RelayEngine,
  payload: number,
  budget: RelayBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  const samples = engine === 'polling' ? budget.pollingRttSamples : budget.rttSamples;
  const warmup = budget.rttWarmup;
  log(`relay: ${engine}: round trip, ${payload}-byte frames (${samples} samples)`);
  // Generous: 20 ms per round trip is ten times the polling relay's.
  const timeoutMs = 10_000 + (samples + warmup) * 20;
  const args = ['rtt', String(payload), String(samples), String(warmup)];
  const { result: stdout, stats } = await withChain(engine, (chain) =>
    runEndpoint(endpoint, args, chain, timeoutMs),
  );
  const rtts = parseNumbers(stdout);
  if (rtts.length !== samples)
    throw new Error(`endpoint printed ${rtts.length} of ${samples} samples`);
  checkRelayed(stats, payload, { aToB: samples + warmup, bToA: samples + warmup });
  const summary = summarize(rtts);
  return [
    {
      suite: 'relay',
      metric: `round trip, ${payload}-byte frames`,
      config: engine,
      unit: 'µs',
      better: 'lower',
      value: summary.p50,
      summary,
      params: { ...engineParams(engine), payloadBytes: payload, warmup },
      raw: rtts,
    },
  ];
}

async function measureThroughput(
  endpoint: string,
  engine: RelayEngine,
  payload: number,
  budget: RelayBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  const seconds = budget.tputMeasureMs / 1000;
  log(`relay: ${engine}: throughput, ${payload}-byte frames (${seconds} s)`);
  const timeoutMs = budget.tputWarmupMs + budget.tputMeasureMs + 20_000;
  const args = ['tput', String(payload), String(budget.tputWarmupMs), String(budget.tputMeasureMs)];
  const { result: stdout, stats } = await withChain(engine, (chain) =>
    runEndpoint(endpoint, args, chain, timeoutMs),
  );
  const [wireBytes, nanoseconds] = parseNumbers(stdout);
  if (wireBytes === undefined || nanoseconds === undefined || !(nanoseconds > 0)) {
    throw new Error(`unexpected endpoint output ${JSON.stringify(stdout.trim())}`);
  }
  // The endpoint drained the chain, so every relay must have moved the same frames, one way.
  checkRelayed(stats, payload, { aToB: 'same', bToA: 0 });
  const frameBytes = FRAME_HEADER + payload;
  const frames = wireBytes / frameBytes;
  const perSecond = frames / (nanoseconds / 1e9);
  const params = {
    ...engineParams(engine),
    payloadBytes: payload,
    seconds: nanoseconds / 1e9,
    warmupMs: budget.tputWarmupMs,
  };
  return [
    {
      suite: 'relay',
      metric: `throughput, ${payload}-byte frames`,
      config: engine,
      unit: 'frames/s',
      better: 'higher',
      value: perSecond,
      params,
    },
    {
      suite: 'relay',
      metric: `throughput, ${payload}-byte frames (payload bits)`,
      config: engine,
      unit: 'Gbit/s',
      better: 'higher',
      value: (perSecond * payload * 8) / 1e9,
      params: {
        ...params,
        bits: 'payload (frame data, without the 4-byte length header)',
        wireGbitPerSecond: (perSecond * frameBytes * 8) / 1e9,
      },
    },
  ];
}

/**
 * The threads that relay for `engine`: the native engine's own loop threads
 * (named `arca-relay`), or the JS thread for the TS and polling relays. Whole
 * process CPU would also count V8's housekeeping (its memory reducer runs in a
 * process's first seconds), whichever engine happens to be measured then.
 */
function relayThreads(engine: RelayEngine): (tid: number, name: string) => boolean {
  return engine === 'native' ? (_tid, name) => name === 'arca-relay' : (tid) => tid === process.pid;
}

async function measureIdleCpu(
  engine: RelayEngine,
  budget: RelayBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  // The native engine is measured over the whole window (its target is per 10 s);
  // the reference engines, whose idle cost is plain, over at most 3 s, scaled.
  const windowSeconds = engine === 'native' ? budget.idleSeconds : Math.min(3, budget.idleSeconds);
  log(`relay: ${engine}: CPU with ${IDLE_RELAYS} idle relays (${windowSeconds} s)`);
  const chains: RelayChain[] = [];
  let cpuSeconds = Number.NaN;
  let processSeconds = Number.NaN;
  let failure: unknown;
  try {
    for (let i = 0; i < IDLE_RELAYS; i++) chains.push(RelayChain.open(engine, 1));
    // Let setup work settle before the window starts.
    await sleep(300);
    const threads = relayThreads(engine);
    const before = threadsCpuSeconds(threads);
    const processBefore = process.cpuUsage();
    await sleep(windowSeconds * 1000);
    cpuSeconds = threadsCpuSeconds(threads) - before;
    const used = process.cpuUsage(processBefore);
    processSeconds = (used.user + used.system) / 1e6;
  } catch (error) {
    failure = error;
  }
  const closed = await Promise.allSettled(chains.map((chain) => chain.close()));
  const notClosed = closed.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) throw failure;
  if (notClosed) throw notClosed.reason;
  return [
    {
      suite: 'relay',
      metric: `idle CPU, ${IDLE_RELAYS} relays open`,
      config: engine,
      unit: `CPU s per ${IDLE_REPORT_SECONDS} s`,
      better: 'lower',
      value: (cpuSeconds * IDLE_REPORT_SECONDS) / windowSeconds,
      params: {
        ...engineParams(engine),
        hops: 1,
        relays: IDLE_RELAYS,
        windowSeconds,
        measuredCpuSeconds: cpuSeconds,
        scope:
          engine === 'native'
            ? "the engine's loop threads (arca-relay)"
            : 'the JS thread (where this engine relays)',
        wholeProcessCpuSeconds: processSeconds,
      },
    },
  ];
}

/**
 * Opens `count` native relays in batches over socketpairs, moves one frame through a few of
 * each batch (its own small ping, no endpoint process), closes everything and waits until
 * every relay reports it closed.
 */
async function churn(count: number): Promise<void> {
  for (let done = 0; done < count; done += CHURN_BATCH) {
    const chains: RelayChain[] = [];
    try {
      for (let i = 0; i < CHURN_BATCH; i++) chains.push(RelayChain.open('native', 1));
      await Promise.all(chains.slice(0, CHURN_PROBES).map((chain) => pingThrough(chain)));
    } finally {
      await Promise.all(chains.map((chain) => chain.close()));
    }
  }
}

/** Writes one frame into the chain's near end and reads it whole from the far end. */
async function pingThrough(chain: RelayChain): Promise<void> {
  const frame = encodeFrame(Buffer.alloc(1000, 1));
  let written = 0;
  while (written < frame.length) written += writeSync(chain.near, frame, written);
  const received = Buffer.alloc(frame.length);
  let read = 0;
  const deadline = Date.now() + CLOSE_TIMEOUT_MS;
  while (read < received.length) {
    try {
      read += readSync(chain.far, received, read, received.length - read, null);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EAGAIN') throw error;
      if (Date.now() > deadline) throw new Error('a frame did not cross a relay within 5 s');
      await sleep(1);
    }
  }
  if (!received.equals(frame)) throw new Error('a frame crossed a relay changed');
}

/** The engine's garbage collector, so RSS is read with no garbage left (as `--expose-gc` gives). */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function measureChurnRss(
  budget: RelayBudget,
  log: (line: string) => void,
): Promise<Figure[]> {
  log(
    `relay: native: RSS over ${CHURN_RELAYS} relays opened and closed (after ${budget.churnWarmup})`,
  );
  const gc = collectGarbage();
  await churn(budget.churnWarmup);
  gc();
  const before = process.memoryUsage().rss;
  await churn(CHURN_RELAYS);
  gc();
  const growth = process.memoryUsage().rss - before;
  return [
    {
      suite: 'relay',
      metric: `RSS growth, ${CHURN_RELAYS} relays opened and closed`,
      config: 'native',
      unit: 'MiB',
      better: 'lower',
      value: growth / (1024 * 1024),
      params: {
        ...engineParams('native'),
        hops: 1,
        warmupRelays: budget.churnWarmup,
        batch: CHURN_BATCH,
        relaysCarryingAFrame: CHURN_PROBES,
        rssBeforeMiB: before / (1024 * 1024),
      },
    },
  ];
}

function engineParams(engine: RelayEngine): Record<string, string | number> {
  const params: Record<string, string | number> = { hops: HOPS };
  if (engine === 'native') params.loopThreads = relayLoopThreads();
  return params;
}

function parseNumbers(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .map(Number);
}
