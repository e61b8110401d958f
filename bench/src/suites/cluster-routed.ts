/**
 * Two figures of the cluster suite beside its own (cluster.ts):
 * - ping between two overlay networks of one router group (`arca-net.router`,
 *   docs/cluster.md), from a container of network B on host 2 to one of
 *   network A on host 1: routed on host 2's chassis, then one Geneve tunnel;
 * - how long host 1's `startup.sh start` takes to be ready again after its
 *   `ovn-controller` died while host 2's whole helper is dead (before it waited
 *   on `--wait=hv` for the dead chassis). It kills host 2's helper: run last.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  helperStartupScript,
  hostPaths,
  inNamespace,
  type LabClient,
  type LabPaths,
  labHelperEnv,
  pingRtts,
  processAlive,
  readPidfile,
  runCommand,
} from '@arca-net/lab';
import type { Figure } from '../figures.js';
import { summarize } from '../stats.js';
import { waitGone } from '../tools/lab.js';

/** Round trip from network B (host 2) to network A (host 1), routed by their shared router. */
export async function routedPingFigure(
  one: LabClient,
  two: LabClient,
  pings: number,
  log: (line: string) => void,
): Promise<Figure> {
  const options = { 'arca-net.router': 'bench' };
  await one.createNetwork({ name: 'ra', subnet: '198.18.4.0/24', driver: 'overlay', options });
  await one.createNetwork({ name: 'rb', subnet: '198.18.5.0/24', driver: 'overlay', options });
  const server = await one.runContainer({ name: 'ra-srv', network: 'ra' });
  const client = await two.runContainer({ name: 'rb-cli', network: 'rb' });
  const target = server.attachments[0]?.ip ?? '';
  log(`cluster: routed: ${pings} pings from network rb (host 2) to ra (host 1)`);
  await pingRtts(client.namespace, target, { count: 3, intervalSeconds: 0.2 });
  const rtts = await pingRtts(client.namespace, target, { count: pings, intervalSeconds: 0.05 });
  const summary = summarize(rtts);
  return {
    suite: 'cluster',
    metric: 'ping container→container (overlay network)',
    config: 'cross-host, routed (arca-net.router)',
    unit: 'µs',
    better: 'lower',
    value: summary.p50,
    summary,
    params: { count: pings, mtu: 1400 },
    raw: rtts,
  };
}

/** SIGKILLs `pids` (those still running) and waits until each is gone. */
async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) if (await processAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const pid of pids) await waitGone(pid, 10_000);
}

async function pidsOf(dir: string, names?: string[]): Promise<number[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.pid'));
  const chosen = names ? files.filter((f) => names.includes(f)) : files;
  // The supervisor first, so it restarts nothing.
  chosen.sort((a, b) => Number(b === 'supervisor.pid') - Number(a === 'supervisor.pid'));
  const pids: number[] = [];
  for (const f of chosen) {
    const pid = await readPidfile(join(dir, f));
    if (pid !== undefined) pids.push(pid);
  }
  return pids;
}

/** Host 1's chassis restart while host 2's helper is dead (kills host 2's helper). */
export async function deadChassisRestartFigure(
  paths: LabPaths,
  log: (line: string) => void,
): Promise<Figure> {
  log("cluster: host 2's helper killed; host 1's ovn-controller restarted");
  await killAll(await pidsOf(hostPaths(paths, 2).helperRun));
  await killAll(await pidsOf(paths.helperRun, ['ovn-controller.pid']));
  const started = performance.now();
  await runCommand(inNamespace(paths.helperNamespace, [helperStartupScript, 'start']), {
    env: await labHelperEnv(paths, 1),
    timeoutMs: 120_000,
  });
  const ms = performance.now() - started;
  return {
    suite: 'cluster',
    metric: 'chassis ready after ovn-controller restart, another chassis dead (startup.sh start)',
    config: 'host 1',
    unit: 'ms',
    better: 'lower',
    value: ms,
    params: { dead: 'host 2 helper (SIGKILL)' },
  };
}
