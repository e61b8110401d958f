/**
 * `lab down`: stops the lab host, the forwarders and the helper, deletes the
 * lab's namespaces and its directory; and what a previous lab left behind.
 */
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LabClient } from './api/client.js';
import { hostPaths } from './cluster.js';
import { inNamespace, runCommand } from './command.js';
import { helperEnv } from './lab-helper.js';
import { type LabProgress, readLabSettings, silentProgress } from './lab-settings.js';
import { deleteNamespace, listNamespaces, namespacePids, removeNamespaceEtc } from './netns.js';
import type { LabPaths } from './paths.js';
import { stopPidfile, stopProcess } from './processes.js';
import { helperStartupScript } from './programs.js';

/** Anything a previous lab in `paths` left behind (namespaces, directory). */
export async function leftovers(paths: LabPaths): Promise<string[]> {
  const found = (await listNamespaces()).filter((name) => paths.ownsNamespace(name));
  try {
    await access(paths.dir);
    found.push(paths.dir);
  } catch {
    // no directory
  }
  return found;
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
