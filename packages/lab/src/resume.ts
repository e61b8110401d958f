/**
 * `lab up` on a lab whose host process died (crash, kill -9, reboot of the
 * process only): the lab is resumed, not rebuilt. Its namespaces, databases,
 * containers and state stay; what is not running is started again on them
 * (a host's helper supervisor when it is gone too, then its lab host, which
 * reconciles: every attachment comes back with its IP and MAC), on every
 * host of a cluster. Only `lab down` deletes a lab.
 */
import { hostPaths } from './cluster.js';
import { labHelperEnv, startHelper } from './lab-helper.js';
import { hostRunning, restartLabHost } from './lab-host.js';
import { type LabProgress, type LabSettings, readLabSettings } from './lab-settings.js';
import { listNamespaces } from './netns.js';
import type { LabPaths } from './paths.js';
import { processAlive, readPidfile } from './processes.js';
import { socketAccepts } from './sockets.js';

/** The settings of the lab in `paths` when it can be resumed: set up, with its helper and outside namespaces there. */
export async function resumableLab(paths: LabPaths): Promise<LabSettings | undefined> {
  const settings = await readLabSettings(paths);
  if (!settings || settings.prefix !== paths.config.prefix) return undefined;
  const namespaces = await listNamespaces();
  const owned = paths.withPrefix(settings.prefix);
  if (!namespaces.includes(owned.helperNamespace) || !namespaces.includes(owned.outsideNamespace)) {
    return undefined;
  }
  return settings;
}

/** Starts, on every host, what of the lab is not running (helper supervisor, lab host), with the lab's own settings. */
export async function resumeLab(
  paths: LabPaths,
  settings: LabSettings,
  options: { timeoutMs: number; progress: LabProgress },
): Promise<void> {
  const hosts = settings.hosts ?? 1;
  for (let k = 1; k <= hosts; k++) {
    const hp = hostPaths(paths, k);
    const label = hosts > 1 ? `host ${k}: ` : '';
    if (await hostRunning(hp)) continue;
    const supervisor = await readPidfile(hp.helperPidfile);
    const helperUp = supervisor !== undefined && (await processAlive(supervisor));
    if (!helperUp || !(await socketAccepts(hp.controllerSocket))) {
      const env = await labHelperEnv(paths, k);
      await options.progress.step(
        `${label}resuming the helper in ${hp.helperNamespace} on its databases`,
        (update) => startHelper(hp, env, { timeoutMs: options.timeoutMs, update }),
      );
    }
    await options.progress.step(`${label}resuming the lab host process on its state`, () =>
      restartLabHost(paths, k),
    );
  }
}
