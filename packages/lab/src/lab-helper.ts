/**
 * The helper "VM" of a lab host: the environment of helpervm/startup.sh and
 * starting `startup.sh run` in the helper namespace (OVS, OVN and the
 * controller). Failure: HELPER_UNAVAILABLE.
 */
import { readFile } from 'node:fs/promises';
import { NetworkBackendError, type OffloadPreference } from '@arca-net/host';
import { clusterEnv, hostPaths } from './cluster.js';
import { clusterUplinkEnv } from './cluster-uplinks.js';
import { inNamespace } from './command.js';
import { readLabSettings } from './lab-settings.js';
import { uplinkEnv } from './outside.js';
import type { LabPaths } from './paths.js';
import { spawnDetached } from './processes.js';
import { helperStartupScript } from './programs.js';
import { waitListening } from './sockets.js';

/**
 * Environment of helpervm/startup.sh for host `host` of `hosts` (cluster.ts);
 * every host has an uplink to the outside namespace (cluster-uplinks.ts).
 */
export function helperEnv(
  paths: LabPaths,
  {
    host = 1,
    hosts = 1,
    offload = 'off',
  }: { host?: number; hosts?: number; offload?: OffloadPreference },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(host === 1 ? uplinkEnv() : {}),
    ...clusterUplinkEnv(host, hosts),
    ...clusterEnv(host, hosts),
    // OVS with userspace TSO only in a lab that may open offload attachments.
    ARCA_OVS_USERSPACE_TSO: offload === 'off' ? 'false' : 'true',
    ARCA_HELPER_STATE: paths.helperState,
    ARCA_HELPER_RUN: paths.helperRun,
    ARCA_HELPER_TIMEOUT: '30',
    ARCA_CONTROLLER_LISTEN: `unixdir:${paths.helperVmDir}`,
    ARCA_NET_LOG_FORMAT: 'json',
  };
}

/** startup.sh's environment of host `host` of the lab in `paths` (e.g. `startup.sh start` brings a dead daemon back). */
export async function labHelperEnv(paths: LabPaths, host = 1): Promise<NodeJS.ProcessEnv> {
  const settings = await readLabSettings(paths);
  return helperEnv(hostPaths(paths, host), {
    host,
    hosts: settings?.hosts ?? 1,
    offload: settings?.offload ?? 'off',
  });
}

/** The last line of the log `file` (at most 300 characters), or nothing. */
export async function lastLogLine(file: string): Promise<string> {
  try {
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    return lines[lines.length - 1]?.slice(0, 300) ?? '';
  } catch {
    return '';
  }
}

/** Starts `startup.sh run` in the helper namespace of `paths` and waits for its controller. */
export async function startHelper(
  paths: LabPaths,
  env: NodeJS.ProcessEnv,
  options: { timeoutMs: number; update: (text: string) => void },
): Promise<void> {
  const { timeoutMs, update } = options;
  const pid = await spawnDetached(
    inNamespace(paths.helperNamespace, [helperStartupScript, 'run']),
    {
      logFile: paths.log('helper'),
      pidfile: paths.helperPidfile,
      env,
    },
  );
  const started = Date.now();
  const outcome = await waitListening(pid, paths.controllerSocket, {
    timeoutMs,
    intervalMs: 200,
    onTry: () =>
      update(
        `helper namespace ${paths.helperNamespace}: starting OVS, OVN and the controller (${Math.round((Date.now() - started) / 1000)} s)`,
      ),
  });
  if (outcome !== 'listening') {
    const why =
      outcome === 'exited' ? 'exited' : `not ready after ${Math.round(timeoutMs / 1000)} s`;
    throw new NetworkBackendError(
      'HELPER_UNAVAILABLE',
      `helper ${why}: ${await lastLogLine(paths.log('helper'))} (log: ${paths.log('helper')})`,
    );
  }
}
