/**
 * The lab host process (a detached Node process in the root namespace
 * serving the lab API): starting it, starting it again, and whether it runs.
 * Failures: LAB_UNAVAILABLE.
 */
import {
  errors,
  NetworkBackendError,
  type OffloadPreference,
  type RelayEngine,
} from '@arca-net/host';
import { LabClient } from './api/client.js';
import { hostPaths } from './cluster.js';
import { lastLogLine } from './lab-helper.js';
import { labTimeoutMs, readLabSettings } from './lab-settings.js';
import type { LabPaths } from './paths.js';
import { processAlive, processOwnedBy, readPidfile, spawnDetached, waitFor } from './processes.js';
import { hostMain } from './programs.js';
import { UPSTREAM_ADDRESS } from './upstream/resolver.js';

/** Whether the lab host in `paths` runs: its process is alive and its socket is there and accepts. */
export async function hostRunning(paths: LabPaths): Promise<boolean> {
  const pid = await readPidfile(paths.hostPidfile);
  if (pid === undefined || !(await processOwnedBy(pid, paths.dir))) return false;
  try {
    await new LabClient(paths.hostSocket, { timeoutMs: 3000 }).health();
    return true;
  } catch (error) {
    // Only a socket that is gone or refuses means "not running": a live host that is
    // slow to answer (busy with many connects on a loaded machine) is still running.
    return !(error instanceof NetworkBackendError && error.code === 'LAB_UNAVAILABLE');
  }
}

/** Throws LAB_UNAVAILABLE, saying how to start it, when no lab host answers in `paths`. */
export async function requireRunningLab(paths: LabPaths): Promise<void> {
  if (!(await hostRunning(paths))) {
    throw errors.labUnavailable(
      `no lab is running in ${paths.dir}: start it with 'arca-net lab up'`,
    );
  }
}

/**
 * Starts the lab host process of host `host` of the running lab in `paths`
 * again (after it stopped or crashed; its containers and helper kept running):
 * it reconciles, and in a cluster picks up what the other hosts did meanwhile.
 */
export async function restartLabHost(paths: LabPaths, host = 1): Promise<void> {
  const settings = await readLabSettings(paths);
  if (!settings) throw errors.labUnavailable(`no lab in ${paths.dir}`);
  const hosts = settings.hosts ?? 1;
  await startHost(hostPaths(paths, host), {
    hostRelay: settings.hostRelay ?? 'native',
    dnsUpstreams: settings.dnsUpstreams ?? [UPSTREAM_ADDRESS],
    timeoutMs: labTimeoutMs(),
    cluster: hosts > 1,
    offload: settings.offload ?? 'off',
  });
}
export /** Starts the lab host process of `paths` and waits until it is healthy. */
async function startHost(
  paths: LabPaths,
  options: {
    hostRelay: RelayEngine;
    dnsUpstreams: string[];
    timeoutMs: number;
    cluster: boolean;
    offload: OffloadPreference;
  },
): Promise<void> {
  const { hostRelay, dnsUpstreams, timeoutMs } = options;
  const argv = [
    process.execPath,
    hostMain,
    '--lab-dir',
    paths.dir,
    '--prefix',
    paths.config.prefix,
    '--host-relay',
    hostRelay,
    '--offload',
    options.offload,
    ...dnsUpstreams.flatMap((u) => ['--dns', u]),
    ...(options.cluster ? ['--cluster'] : []),
  ];
  const pid = await spawnDetached(argv, {
    logFile: paths.log('host'),
    pidfile: paths.hostPidfile,
    env: {
      ...process.env,
      ARCA_NET_LOG_FORMAT: 'json',
      ARCA_NET_LAB_PREFIX: paths.config.prefix,
    },
  });
  const client = new LabClient(paths.hostSocket, { timeoutMs: 5000 });
  let failure = 'no answer';
  const ready = await waitFor(
    async () => {
      if (!(await processAlive(pid))) {
        failure = `exited: ${await lastLogLine(paths.log('host'))}`;
        return true;
      }
      try {
        const health = await client.health();
        if (health.healthy) return true;
        failure = health.components
          .filter((c) => !c.healthy)
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; ');
        return false;
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
        return false;
      }
    },
    { timeoutMs, intervalMs: 200 },
  );
  if (!ready || !(await processAlive(pid))) {
    throw errors.labUnavailable(`lab host not healthy: ${failure} (log: ${paths.log('host')})`);
  }
}
