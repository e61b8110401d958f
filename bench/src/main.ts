/**
 * `make bench`: runs every benchmark suite and writes bench/results/latest.{json,md,png}.
 * QUICK=1 shortens every measurement (about two minutes in all, most of it
 * bringing four labs up and down). A suite that
 * cannot run is recorded under `failures` with its reason, never silently left out.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RelayEngine } from '@arca-net/host';
import { setupFloorBridge } from './configs/floor-bridge.js';
import {
  type PathLab,
  setupFloorOvs,
  setupLabPair,
  setupPlainPairOnOffloadLab,
  upPathLab,
} from './configs/lab.js';
import { setupPeerVde } from './configs/peer-vde.js';
import type { Figure } from './figures.js';
import { machineInfo } from './machine.js';
import { updateReadme } from './readme.js';
import { type BenchRun, buildRun, writeResults } from './report.js';
import { runClusterSuite } from './suites/cluster.js';
import { runControlPlaneSuite } from './suites/control-plane.js';
import { runDnsSuite } from './suites/dns.js';
import { runHopsSuite } from './suites/hops.js';
import { runOffloadPingSuite } from './suites/offload-ping.js';
import { runOffloadThroughputSuite } from './suites/offload-throughput.js';
import { FULL_BUDGET, measurePath, type PathPair, QUICK_BUDGET } from './suites/path.js';
import { runPortsSuite } from './suites/ports.js';
import { runRelaySuite } from './suites/relay.js';
import { runSpinSuite } from './suites/run-spin.js';
import { runControllerSuite, runForwarderSuite, runHelperImageSuite } from './suites/scripts.js';

const quick = process.env.QUICK === '1';
const resultsDir =
  process.env.BENCH_RESULTS_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** A named piece of the run: returns its figures or throws why it could not measure. */
interface Suite {
  name: string;
  run(): Promise<Figure[]>;
}

async function pathSuite(name: string, setup: () => Promise<PathPair>): Promise<Figure[]> {
  log(`${name}: setting up`);
  const pair = await setup();
  try {
    return await measurePath(pair, quick ? QUICK_BUDGET : FULL_BUDGET, log);
  } finally {
    await pair.close();
  }
}

/**
 * The native lab that `floor-ovs`, `arca-net` and `hops` share (the issue's
 * "measured on the same lab"): brought up by the first of them, torn down at
 * the end of the run.
 */
let nativeLab: Promise<PathLab> | undefined;
function sharedNativeLab(): Promise<PathLab> {
  if (!nativeLab) {
    log('bringing up the native lab (floor-ovs, arca-net, hops)');
    nativeLab = upPathLab('native');
  }
  return nativeLab;
}

/** The offload lab (`lab up --offload`) that `floor-ovs-tso`, `arca-net-offload` and `arca-net-tso` share. */
let offloadLab: Promise<PathLab> | undefined;
function sharedOffloadLab(): Promise<PathLab> {
  if (!offloadLab) {
    log(
      'bringing up the offload lab (floor-ovs-tso, arca-net-offload, arca-net-tso, offload-ping, offload-throughput, hops-offload)',
    );
    offloadLab = upPathLab('native', true);
  }
  return offloadLab;
}

async function offloadPathSuite(
  name: string,
  setup: (lab: PathLab) => Promise<PathPair>,
): Promise<Figure[]> {
  const pathLab = await sharedOffloadLab();
  return pathSuite(name, () => setup(pathLab));
}

/** The path suite on a lab with `hostRelay`: the shared native lab, or one of its own. */
async function labPathSuite(
  name: string,
  hostRelay: RelayEngine,
  setup: (lab: PathLab) => Promise<PathPair>,
): Promise<Figure[]> {
  if (hostRelay === 'native') {
    const pathLab = await sharedNativeLab();
    return pathSuite(name, () => setup(pathLab));
  }
  log(`${name}: bringing up a lab (host relays: ${hostRelay})`);
  const pathLab = await upPathLab(hostRelay);
  try {
    return await pathSuite(name, () => setup(pathLab));
  } finally {
    await pathLab.lab.down();
  }
}

const suites: Suite[] = [
  // First: its idle-CPU figure needs a process that has not moved traffic yet.
  { name: 'relay', run: () => runRelaySuite(quick, log) },
  { name: 'floor-bridge', run: () => pathSuite('floor-bridge', setupFloorBridge) },
  { name: 'floor-ovs', run: () => labPathSuite('floor-ovs', 'native', setupFloorOvs) },
  { name: 'arca-net', run: () => labPathSuite('arca-net', 'native', setupLabPair) },
  { name: 'floor-ovs-tso', run: () => offloadPathSuite('floor-ovs-tso', setupFloorOvs) },
  { name: 'arca-net-offload', run: () => offloadPathSuite('arca-net-offload', setupLabPair) },
  {
    name: 'arca-net-tso',
    run: () => offloadPathSuite('arca-net-tso', setupPlainPairOnOffloadLab),
  },
  {
    name: 'offload-ping',
    run: async () => runOffloadPingSuite(await sharedOffloadLab(), quick, log),
  },
  {
    name: 'offload-throughput',
    run: async () => runOffloadThroughputSuite(await sharedOffloadLab(), quick, log),
  },
  {
    name: 'hops-offload',
    run: async () =>
      (await runHopsSuite(await sharedOffloadLab(), quick, log)).map((f) => ({
        ...f,
        config: 'arca-net-offload',
      })),
  },
  { name: 'peer-vde', run: () => pathSuite('peer-vde', setupPeerVde) },
  { name: 'hops', run: async () => runHopsSuite(await sharedNativeLab(), quick, log) },
  { name: 'dns', run: async () => runDnsSuite(await sharedNativeLab(), quick, log) },
  { name: 'spin', run: async () => runSpinSuite(await sharedNativeLab(), quick, log) },
  { name: 'arca-net-ts', run: () => labPathSuite('arca-net-ts', 'ts', setupLabPair) },
  {
    name: 'arca-net-polling',
    run: () => labPathSuite('arca-net-polling', 'polling', setupLabPair),
  },
  { name: 'ports', run: () => runPortsSuite(quick, log) },
  { name: 'control-plane', run: () => runControlPlaneSuite(quick, log) },
  { name: 'cluster', run: () => runClusterSuite(quick, log) },
  { name: 'controller', run: () => runControllerSuite(quick) },
  { name: 'forwarder', run: () => runForwarderSuite(quick) },
  { name: 'helpervm-image', run: () => runHelperImageSuite(quick) },
];

/** Tears down the shared offload lab if a suite brought it up. */
async function downOffloadLab(): Promise<void> {
  if (!offloadLab) return;
  const pathLab = await offloadLab.catch(() => undefined);
  offloadLab = undefined;
  await pathLab?.lab.down();
}

/** Tears down the shared native lab if a suite brought it up. */
async function downSharedLab(): Promise<void> {
  if (!nativeLab) return;
  const pathLab = await nativeLab.catch(() => undefined);
  nativeLab = undefined;
  await pathLab?.lab.down();
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const only = process.env.BENCH_ONLY?.split(',');
  const figures: Figure[] = [];
  const failures: BenchRun['failures'] = [];
  for (const suite of suites) {
    // The shared native lab is done once the suites that use it ran.
    if (suite.name === 'arca-net-ts') await downSharedLab().catch(() => undefined);
    if (suite.name === 'peer-vde') await downOffloadLab().catch(() => undefined);
    if (only && !only.includes(suite.name)) continue;
    try {
      figures.push(...(await suite.run()));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`${suite.name}: FAILED: ${message}`);
      failures.push({ suite: suite.name, error: message });
    }
  }
  await downSharedLab();
  await downOffloadLab();
  const run = buildRun(figures, failures, machineInfo(), startedAt, quick);
  const files = await writeResults(run, resultsDir);
  log(`wrote ${files.join(', ')}`);
  // The README quotes full runs of every suite only.
  if (!quick && !only && !process.env.BENCH_RESULTS_DIR) {
    const readme = path.resolve(resultsDir, '..', '..', 'README.md');
    updateReadme(readme, run);
    log(`updated the Performance section of ${readme}`);
  }
  if (failures.length > 0) process.exitCode = 1;
}

await main();
