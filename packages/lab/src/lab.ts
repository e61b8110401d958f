/**
 * `lab up|down|status`: the whole system on one Linux machine. The helper
 * "VM" is a network namespace running helpervm/startup.sh (OVS, OVN and the
 * controller); the lab host is a detached Node process in the root namespace
 * embedding OvsNetworkBackend and serving the lab API; container "VMs" are
 * namespaces running the forwarder (started by the lab host). Failures are
 * the host's errors: LAB_UNAVAILABLE, LAB_RUNNING, HELPER_UNAVAILABLE.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { checkUpstreams, errors, type OffloadPreference, type RelayEngine } from '@arca-net/host';
import { checkHostCount, createUnderlay, hostPaths } from './cluster.js';
import { createClusterUplinks } from './cluster-uplinks.js';
import { labDown, leftovers } from './lab-down.js';
import { helperEnv, startHelper } from './lab-helper.js';
import { hostRunning, startHost } from './lab-host.js';
import {
  type LabProgress,
  type LabSettings,
  labTimeoutMs,
  silentProgress,
} from './lab-settings.js';
import { createNamespace } from './netns.js';
import { createOutside, OUTSIDE_CIDR } from './outside.js';
import type { LabPaths } from './paths.js';
import { checkPrerequisites } from './prerequisites.js';
import { resumableLab, resumeLab } from './resume.js';
import { createUpstream, UPSTREAM_ADDRESS } from './upstream/resolver.js';

// The rest of the `lab` commands, one concern a file; imported from here as before.
export { type LabDownResult, labDown } from './lab-down.js';
export { labHelperEnv, startHelper } from './lab-helper.js';
export { hostRunning, requireRunningLab, restartLabHost } from './lab-host.js';
export {
  type LabProgress,
  type LabSettings,
  readLabSettings,
  silentProgress,
} from './lab-settings.js';
export { type LabStatus, labStatus } from './lab-status.js';

/** Options of {@link labUp}. */
export interface LabUpOptions {
  /** Relay engine of the lab host (default native); the others exist to be compared with it. */
  hostRelay?: RelayEngine;
  /** Bound of each readiness wait. */
  timeoutMs?: number;
  progress?: LabProgress;
  /** Upstream resolvers ("ip" or "ip:port") of every DNS path; default: the lab's fake upstream. */
  dnsUpstreams?: string[];
  /** Simulated hosts (default 1): a cluster on an underlay, host 1 central (cluster.ts). */
  hosts?: number;
  /**
   * Offload framing of attachments whose connect names none: 'off' (default: plain QEMU
   * framing, OVS without userspace TSO), 'auto' (negotiated per attachment) or 'on'.
   */
  offload?: OffloadPreference;
}

/** `lab up`: brings the lab up, or fails with one line and leaves nothing behind. */
export async function labUp(paths: LabPaths, options: LabUpOptions = {}): Promise<void> {
  const progress = options.progress ?? silentProgress;
  const timeoutMs = options.timeoutMs ?? labTimeoutMs();
  const dnsUpstreams = checkUpstreams(
    options.dnsUpstreams?.length ? options.dnsUpstreams : [UPSTREAM_ADDRESS],
  );
  const hosts = options.hosts ?? 1;
  checkHostCount(hosts);
  await checkPrerequisites();
  if (await hostRunning(paths)) throw errors.labRunning(paths.dir);
  const resumable = await resumableLab(paths);
  if (resumable) return resumeLab(paths, resumable, { timeoutMs, progress });
  const stale = await leftovers(paths);
  if (stale.length > 0) {
    await progress.step('cleaning up what a previous lab left behind', () => labDown(paths));
  }
  try {
    const hostRelay = options.hostRelay ?? 'native';
    for (let k = 1; k <= hosts; k++) {
      const hp = hostPaths(paths, k);
      // Root's only: state, databases, logs and sockets of the lab live below.
      await mkdir(hp.dir, { recursive: true, mode: 0o700 });
      await chmod(hp.dir, 0o700);
      for (const dir of [hp.helperState, hp.helperRun, hp.helperVmDir, hp.pidsDir, hp.logsDir]) {
        await mkdir(dir, { recursive: true });
      }
      const settings: LabSettings = {
        prefix: hp.config.prefix,
        createdAt: new Date().toISOString(),
        hostRelay,
        dnsUpstreams,
        offload: options.offload ?? 'off',
        ...(k === 1 && hosts > 1 ? { hosts } : {}),
      };
      await writeFile(hp.settings, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
    }

    await progress.step(
      `helper namespace ${paths.helperNamespace}: Open vSwitch, OVN and the controller; outside world ${paths.outsideNamespace} (${OUTSIDE_CIDR})`,
      async (update) => {
        await createNamespace(paths.helperNamespace);
        await createOutside(paths);
        await createUpstream(paths, timeoutMs);
        for (let k = 2; k <= hosts; k++) await createNamespace(hostPaths(paths, k).helperNamespace);
        if (hosts > 1) await createUnderlay(paths, hosts);
        await createClusterUplinks(paths, hosts);
        // The central (host 1) first: the chassis wait for its databases.
        for (let k = 1; k <= hosts; k++) {
          await startHelper(
            hostPaths(paths, k),
            helperEnv(hostPaths(paths, k), { host: k, hosts, offload: options.offload }),
            {
              timeoutMs,
              update: (text) => update(hosts > 1 ? `host ${k}: ${text}` : text),
            },
          );
        }
      },
    );

    for (let k = 1; k <= hosts; k++) {
      await progress.step(
        `${hosts > 1 ? `host ${k}: ` : ''}${hostRelay === 'native' ? 'lab host process' : `lab host process (${hostRelay} relays)`}`,
        () =>
          startHost(hostPaths(paths, k), {
            hostRelay,
            dnsUpstreams,
            timeoutMs,
            cluster: hosts > 1,
            offload: options.offload ?? 'off',
          }),
      );
    }
  } catch (error) {
    await labDown(paths).catch(() => undefined);
    throw error;
  }
}
