/**
 * When a link re-dials after its relay closed (bridge.ts): at once after a
 * relay that carried traffic for a while, else after a doubling delay with
 * jitter; a peer that keeps sending malformed frames is quarantined. Bounds
 * what a hostile VM can make the host (and the helper) do.
 */
import type { RelayCloseInfo } from '@arca-net/vsock';

/** Re-dial policy after a relay closed. */
export interface BridgeReconnect {
  /** A relay that lived this long and carried frames resets the backoff, ms (default 10 000). */
  healthyMs: number;
  /** Wait before the second re-dial in a row, ms (default 100); doubles per close. */
  initialDelayMs: number;
  /** Largest wait between re-dials after closes, ms (default 30 000). */
  maxDelayMs: number;
  /** Consecutive protocol-error closes that quarantine the link (default 5). */
  quarantineAfter: number;
  /** How long a quarantined link waits before it dials again, ms (default 60 000). */
  quarantineMs: number;
}

export const DEFAULT_RECONNECT: BridgeReconnect = {
  healthyMs: 10_000,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  quarantineAfter: 5,
  quarantineMs: 60_000,
};

/** A link's re-dial history. */
export interface RedialState {
  /** When the current relay opened, ms. */
  openedAt: number;
  /** Closes of short-lived relays in a row (the re-dial backoff). */
  closeStreak: number;
  /** Protocol-error closes in a row. */
  protocolStreak: number;
  protocolCloses: number;
  quarantines: number;
  quarantinedUntil?: number;
}

/**
 * How long to wait before re-dialling a link whose relay just closed
 * (updates `state`): nothing after a relay that carried frames for
 * `healthyMs`, else a doubling delay with jitter; `quarantineMs` after
 * `quarantineAfter` protocol-error closes in a row.
 */
export function redialDelay(
  policy: BridgeReconnect,
  state: RedialState,
  info: Pick<RelayCloseInfo, 'reason'>,
  carried: boolean,
  now = Date.now(),
): { delayMs: number; quarantined: boolean } {
  if (carried && now - state.openedAt >= policy.healthyMs) {
    state.closeStreak = 0;
    state.protocolStreak = 0;
  }
  if (info.reason === 'protocol') {
    state.protocolCloses++;
    state.protocolStreak++;
  } else {
    state.protocolStreak = 0;
  }
  if (state.protocolStreak >= policy.quarantineAfter) {
    state.quarantines++;
    state.quarantinedUntil = now + policy.quarantineMs;
    return { delayMs: policy.quarantineMs, quarantined: true };
  }
  const streak = state.closeStreak++;
  if (streak === 0) return { delayMs: 0, quarantined: false };
  const ceiling = Math.min(policy.initialDelayMs * 2 ** (streak - 1), policy.maxDelayMs);
  return { delayMs: Math.round(ceiling / 2 + Math.random() * (ceiling / 2)), quarantined: false };
}
