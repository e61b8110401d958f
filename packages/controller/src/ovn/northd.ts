/**
 * Is ovn-northd up? Without it no logical port gets a Port_Binding, so an
 * attach would wait for a port that never comes up and the host would give
 * up first with a misleading DEADLINE_EXCEEDED. The domain asks before it
 * waits and fails with OVN_NORTHD_DOWN instead; a northd that the helper's
 * supervisor is restarting gets a short grace.
 */
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
 * Polls `probe` until northd runs or `graceMs` passes; resolves with the
 * last status (undefined when this helper runs no northd).
 */
export async function awaitNorthd(
  probe: () => Promise<NorthdStatus | undefined>,
  graceMs: number,
  intervalMs = 100,
): Promise<NorthdStatus | undefined> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const status = await Promise.race([
      probe(),
      new Promise<NorthdStatus>((resolve) =>
        setTimeout(
          () => resolve({ running: false, detail: `no answer in ${NORTHD_PROBE_TIMEOUT_MS} ms` }),
          NORTHD_PROBE_TIMEOUT_MS + 1000,
        ).unref(),
      ),
    ]);
    if (!status || status.running || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
