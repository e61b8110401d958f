/**
 * `lab up` on a lab whose host process died (crash, kill -9, reboot of the
 * process only): the lab is resumed, not rebuilt. Its namespaces, databases,
 * containers and state stay; what is not running is started again on them
 * (the helper's supervisor when it is gone too, then the lab host, which
 * reconciles: every attachment comes back with its IP and MAC). Only
 * `lab down` deletes a lab.
 */
import type { LabProgress, LabSettings } from './lab.js';
import { readLabSettings, startHelperProcess, startHostProcess } from './lab.js';
import { listNamespaces } from './netns.js';
import type { LabPaths } from './paths.js';
import { processAlive, readPidfile } from './processes.js';
import { socketAccepts } from './sockets.js';
import { UPSTREAM_ADDRESS } from './upstream/resolver.js';

/** The settings of the lab in `paths` when it can be resumed: set up, with its helper namespace there. */
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

/** Starts what of the lab is not running (helper supervisor, lab host), with the lab's own settings. */
export async function resumeLab(
  paths: LabPaths,
  settings: LabSettings,
  options: { timeoutMs: number; progress: LabProgress },
): Promise<void> {
  const supervisor = await readPidfile(paths.helperPidfile);
  const helperUp = supervisor !== undefined && (await processAlive(supervisor));
  if (!helperUp || !(await socketAccepts(paths.controllerSocket))) {
    await options.progress.step(
      `resuming the helper in ${paths.helperNamespace} on its databases`,
      (update) => startHelperProcess(paths, options.timeoutMs, update),
    );
  }
  const hostRelay = settings.hostRelay ?? 'native';
  const dnsUpstreams = settings.dnsUpstreams?.length ? settings.dnsUpstreams : [UPSTREAM_ADDRESS];
  await options.progress.step('resuming the lab host process on its state', () =>
    startHostProcess(paths, hostRelay, dnsUpstreams, options.timeoutMs),
  );
}
