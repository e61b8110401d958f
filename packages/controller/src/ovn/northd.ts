/**
 * Is ovn-northd up? Without it no logical port gets a Port_Binding, so an
 * attach would wait for a port that never comes up and the host would give
 * up first with a misleading DEADLINE_EXCEEDED. The domain asks before it
 * waits and fails with OVN_NORTHD_DOWN instead; a northd that the helper's
 * supervisor is restarting gets a short grace.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Appctl } from './appctl.js';

/** What northd's control socket said. */
export interface NorthdStatus {
  running: boolean;
  /** `active`, `standby`, or why it did not answer (first line of the tool's error). */
  detail: string;
}

/** How long one probe may take: a stopped northd never answers its socket. */
export const NORTHD_PROBE_TIMEOUT_MS = 2000;

/** `ovs-appctl -t <ctl> status`: running when northd answers `Status: active`. */
export async function probeNorthd(appctl: Appctl, ctl: string): Promise<NorthdStatus> {
  try {
    const out = await appctl.call(ctl, 'status');
    const detail = out.replace('Status:', '').trim();
    return { running: detail === 'active', detail };
  } catch (err) {
    return { running: false, detail: (err as Error).message.split('\n')[0] ?? 'no answer' };
  }
}

/**
 * Probes northd every `intervalMs` until it runs or `graceMs` has passed;
 * resolves with the last status (undefined when this helper runs no northd).
 * One timeout bounds each probe: its tool's ({@link NORTHD_PROBE_TIMEOUT_MS},
 * a stopped northd never answers), so the wait ends within `graceMs` plus one probe.
 */
export async function awaitNorthd(
  probe: () => Promise<NorthdStatus | undefined>,
  graceMs: number,
  intervalMs = 100,
): Promise<NorthdStatus | undefined> {
  const deadline = Date.now() + graceMs;
  let status = await probe();
  while (status && !status.running && Date.now() < deadline) {
    await sleep(intervalMs);
    status = await probe();
  }
  return status;
}
