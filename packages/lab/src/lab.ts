/**
 * `lab up|down|status`: the whole system on one Linux machine. The helper
 * "VM" is a network namespace running helpervm/startup.sh (OVS, OVN and the
 * controller); the lab host is a detached Node process in the root namespace
 * embedding OvsNetworkBackend and serving the lab API; container "VMs" are
 * namespaces running the forwarder (started by the lab host). Failures are
 * the host's errors: LAB_UNAVAILABLE, LAB_RUNNING, HELPER_UNAVAILABLE.
 */
import { access, chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkUpstreams,
  errors,
  NetworkBackendError,
  type OffloadPreference,
  type RelayEngine,
} from '@arca-net/host';
import { LabClient } from './api/client.js';
import type { ComponentHealth } from './api/routes.js';
import { checkHostCount, clusterEnv, createUnderlay, hostPaths } from './cluster.js';
import { clusterUplinkEnv, createClusterUplinks } from './cluster-uplinks.js';
import { inNamespace, runCommand } from './command.js';
import {
  createNamespace,
  deleteNamespace,
  listNamespaces,
  namespacePids,
  removeNamespaceEtc,
} from './netns.js';
import { createOutside, OUTSIDE_CIDR, uplinkEnv } from './outside.js';
import type { LabPaths } from './paths.js';
import { checkPrerequisites } from './prerequisites.js';
import {
  processAlive,
  processOwnedBy,
  readPidfile,
  spawnDetached,
  stopPidfile,
  stopProcess,
  waitFor,
} from './processes.js';
import { helperStartupScript, hostMain } from './programs.js';
import { resumableLab, resumeLab } from './resume.js';
import { socketAccepts } from './sockets.js';
import { createUpstream, UPSTREAM_ADDRESS } from './upstream/resolver.js';

/** How `lab up` and `lab down` report their slow steps (the CLI draws progress lines). */
export interface LabProgress {
  /** Runs `work` as the step called `title`; `update` replaces the running text. */
  step<T>(title: string, work: (update: (text: string) => void) => Promise<T>): Promise<T>;
}

/** Reports nothing. */
export const silentProgress: LabProgress = { step: (_title, work) => work(() => undefined) };

/** What `lab up` records in `<lab>/lab.json`. */
export interface LabSettings {
  prefix: string;
  createdAt: string;
  /** The lab host's relay engine (absent in labs from before the option: native). */
  hostRelay?: RelayEngine;
  /** Upstream resolvers of the lab's DNS (absent in labs from before the option). */
  dnsUpstreams?: string[];
  /** Hosts of the lab (`lab up --hosts N`; absent: 1). Hosts 2… have their own lab.json without it. */
  hosts?: number;
  /** Offload preference of connects that name none (absent: off; `lab up --offload`: auto). */
  offload?: OffloadPreference;
}

/** The settings of the lab in `paths.dir`, or undefined when none was brought up there. */
export async function readLabSettings(paths: LabPaths): Promise<LabSettings | undefined> {
  try {
    return JSON.parse(await readFile(paths.settings, 'utf8')) as LabSettings;
  } catch {
    return undefined;
  }
}

/**
 * Environment of helpervm/startup.sh for host `host` of `hosts` (cluster.ts);
 * every host has an uplink to the outside namespace (cluster-uplinks.ts).
 */
function helperEnv(
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

async function lastLogLine(file: string): Promise<string> {
  try {
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    return lines[lines.length - 1]?.slice(0, 300) ?? '';
  } catch {
    return '';
  }
}

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

/** Anything a previous lab in `paths` left behind (namespaces, directory). */
async function leftovers(paths: LabPaths): Promise<string[]> {
  const found = (await listNamespaces()).filter((name) => paths.ownsNamespace(name));
  try {
    await access(paths.dir);
    found.push(paths.dir);
  } catch {
    // no directory
  }
  return found;
}

/** Bound of each readiness wait of `lab up`: `ARCA_NET_LAB_TIMEOUT` seconds, default 90. */
function labTimeoutMs(): number {
  const seconds = Number(process.env.ARCA_NET_LAB_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 90_000;
}

/** Throws LAB_UNAVAILABLE, saying how to start it, when no lab host answers in `paths`. */
export async function requireRunningLab(paths: LabPaths): Promise<void> {
  if (!(await hostRunning(paths))) {
    throw errors.labUnavailable(
      `no lab is running in ${paths.dir}: start it with 'arca-net lab up'`,
    );
  }
}

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
  let died = false;
  const ready = await waitFor(
    async () => {
      if (!(await processAlive(pid))) {
        died = true;
        return true;
      }
      return socketAccepts(paths.controllerSocket);
    },
    {
      timeoutMs,
      intervalMs: 200,
      onTry: () =>
        update(
          `helper namespace ${paths.helperNamespace}: starting OVS, OVN and the controller (${Math.round((Date.now() - started) / 1000)} s)`,
        ),
    },
  );
  if (died || !ready) {
    const why = died ? 'exited' : `not ready after ${Math.round(timeoutMs / 1000)} s`;
    throw new NetworkBackendError(
      'HELPER_UNAVAILABLE',
      `helper ${why}: ${await lastLogLine(paths.log('helper'))} (log: ${paths.log('helper')})`,
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

/** Starts the lab host process of `paths` and waits until it is healthy. */
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

/** Processes and namespaces that `lab down` stops or deletes at the same time (a lab may hold hundreds). */
const TEARDOWN_CONCURRENCY = 8;

/** Runs `fn` on every item, at most `limit` at a time; rejects with the first failure after all ran. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item).catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** What `lab down` removed. */
export interface LabDownResult {
  namespaces: string[];
  processes: number;
}

/** `lab down`: removes everything the lab in `paths` made. Idempotent. */
export async function labDown(
  paths: LabPaths,
  options: { progress?: LabProgress } = {},
): Promise<LabDownResult> {
  const settings = await readLabSettings(paths);
  const owned = settings ? paths.withPrefix(settings.prefix) : paths;
  const result: LabDownResult = { namespaces: [], processes: 0 };
  const work = async (): Promise<void> => {
    // 0. Hosts 2… of a cluster (cluster.ts), each a lab of its own in <lab>/hosts/K.
    for (let k = settings?.hosts ?? 1; k >= 2; k--) {
      const sub = await labDown(hostPaths(owned, k)).catch(() => undefined);
      result.namespaces.push(...(sub?.namespaces ?? []));
      result.processes += sub?.processes ?? 0;
    }
    // 1. The lab host: closes its relays and clients.
    // It may be gone, or go before answering: the pidfile below finishes the job.
    await new LabClient(paths.hostSocket, { timeoutMs: 5000 }).shutdown().catch(() => undefined);
    if (await stopPidfile(paths.hostPidfile, paths.dir, 10_000)) result.processes++;
    // 2. Forwarders and the helper, by pidfile (only if their command line names this lab).
    let pidfiles: string[] = [];
    try {
      pidfiles = (await readdir(paths.pidsDir)).filter((f) => f.endsWith('.pid'));
    } catch {
      // no pids directory
    }
    const namespaces = (await listNamespaces()).filter((name) => owned.ownsNamespace(name));
    if (namespaces.includes(owned.helperNamespace)) {
      await runCommand(inNamespace(owned.helperNamespace, [helperStartupScript, 'stop']), {
        env: helperEnv(paths, {}),
        timeoutMs: 60_000,
      }).catch(() => undefined);
    }
    await forEachConcurrently(pidfiles, TEARDOWN_CONCURRENCY, async (file) => {
      if (await stopPidfile(join(paths.pidsDir, file), paths.dir)) result.processes++;
    });
    // 3. Whatever still runs inside our namespaces, then the namespaces (TAPs go with them).
    await forEachConcurrently(namespaces, TEARDOWN_CONCURRENCY, async (name) => {
      const pids = await namespacePids(name);
      await Promise.all(pids.map((pid) => stopProcess(pid, 5000)));
      result.processes += pids.length;
      await deleteNamespace(name);
      await removeNamespaceEtc(name);
      result.namespaces.push(name);
    });
    result.namespaces.sort();
    // 4. Sockets, databases, logs, pidfiles.
    await rm(paths.dir, { recursive: true, force: true });
  };
  await (options.progress ?? silentProgress).step('tearing down the lab', work);
  return result;
}

/** `lab status`: every component of the lab, and whether all are healthy. */
export interface LabStatus {
  running: boolean;
  components: ComponentHealth[];
}

const HELPER_DAEMONS = [
  'ovsdb-server-ovs',
  'ovs-vswitchd',
  'ovsdb-server-nb',
  'ovsdb-server-sb',
  'ovn-northd',
  'ovn-controller',
];

/** ", restarted N times" when the helper's supervisor restarted `name` (startup.sh's `<name>.restarts`). */
async function helperRestarts(paths: LabPaths, name: string): Promise<string> {
  try {
    const n = Number((await readFile(join(paths.helperRun, `${name}.restarts`), 'utf8')).trim());
    return n > 0 ? `, restarted ${n} time${n === 1 ? '' : 's'}` : '';
  } catch {
    return '';
  }
}

/** `lab status`: every component and whether it is healthy; in a cluster, every host's (cluster.ts). */
export async function labStatus(paths: LabPaths): Promise<LabStatus> {
  const status = await hostStatus(paths);
  const hosts = (await readLabSettings(paths))?.hosts ?? 1;
  if (hosts <= 1) return status;
  const rows = status.components.map((c) => ({ ...c, name: `host 1: ${c.name}` }));
  for (let k = 2; k <= hosts; k++) {
    const sub = await hostStatus(hostPaths(paths, k), 'chassis');
    rows.push(...sub.components.map((c) => ({ ...c, name: `host ${k}: ${c.name}` })));
  }
  return { running: rows.every((row) => row.healthy), components: rows };
}

async function hostStatus(paths: LabPaths, role?: 'chassis'): Promise<LabStatus> {
  const rows: ComponentHealth[] = [];
  const settings = await readLabSettings(paths);
  if (!settings) {
    return {
      running: false,
      components: [{ name: 'lab', healthy: false, detail: `no lab in ${paths.dir}` }],
    };
  }
  const owned = paths.withPrefix(settings.prefix);
  const namespaces = await listNamespaces();
  rows.push({
    name: 'helper namespace',
    healthy: namespaces.includes(owned.helperNamespace),
    detail: owned.helperNamespace,
  });
  if (role !== 'chassis') {
    rows.push({
      name: 'outside namespace',
      healthy: namespaces.includes(owned.outsideNamespace),
      detail: `${owned.outsideNamespace} (${OUTSIDE_CIDR}, the helper's uplink)`,
    });
  }
  // A chassis runs no databases and no northd: the central (host 1) does.
  const central = ['ovsdb-server-nb', 'ovsdb-server-sb', 'ovn-northd'];
  for (const daemon of HELPER_DAEMONS.filter((d) => role !== 'chassis' || !central.includes(d))) {
    const pid = await readPidfile(join(paths.helperRun, `${daemon}.pid`));
    const alive = pid !== undefined && (await processAlive(pid));
    const restarts = await helperRestarts(paths, daemon);
    rows.push({
      name: daemon,
      healthy: alive,
      detail: `${alive ? `pid ${pid}` : 'not running'}${restarts}`,
    });
  }
  const supervisor = await readPidfile(paths.helperPidfile);
  const supervising = supervisor !== undefined && (await processAlive(supervisor));
  rows.push({
    name: 'helper supervisor',
    healthy: supervising,
    detail: supervising
      ? `pid ${supervisor} (startup.sh run)`
      : 'not running: nothing restarts the controller or OVS/OVN',
  });
  const controllerUp = await socketAccepts(paths.controllerSocket);
  rows.push({
    name: 'controller',
    healthy: controllerUp,
    detail: `unixdir:${paths.helperVmDir} port 9999${await helperRestarts(paths, 'controller')}`,
  });
  const hostPid = await readPidfile(paths.hostPidfile);
  try {
    const health = await new LabClient(paths.hostSocket, { timeoutMs: 5000 }).health();
    rows.push({
      name: 'lab host',
      healthy: true,
      detail: `pid ${hostPid}, ${paths.hostSocket}, ${settings.hostRelay ?? 'native'} relays, offload ${settings.offload ?? 'off'}`,
    });
    rows.push(...health.components);
  } catch (error) {
    rows.push({
      name: 'lab host',
      healthy: false,
      detail: error instanceof Error ? error.message : String(error),
    });
  }
  return { running: rows.every((row) => row.healthy), components: rows };
}
