/**
 * `lab status`: every component of the lab (namespaces, the helper's daemons
 * and supervisor, the controller, the lab host and what it reports), per host.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabClient } from './api/client.js';
import type { ComponentHealth } from './api/routes.js';
import { hostPaths } from './cluster.js';
import { readLabSettings } from './lab-settings.js';
import { listNamespaces } from './netns.js';
import { OUTSIDE_CIDR } from './outside.js';
import type { LabPaths } from './paths.js';
import { processAlive, readPidfile } from './processes.js';
import { socketAccepts } from './sockets.js';

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
