/**
 * The lab's forwarder supervisor: a container "VM" whose forwarder died
 * (crash, kill -9) gets a new forwarder in the same namespace, with an
 * exponential backoff per container (the first restart at once, then 0.5 s,
 * 1 s, … up to 30 s; reset after 30 s up). The restart goes through the lab
 * host service (under the container's lock, so `lab stop` / `lab rm` never
 * race it), which then has the host library re-apply the attachments. Also
 * the `lab status` rows of what the host library observes of each forwarder.
 */
import type { ForwarderObservation } from '@arca-net/host';
import type { Logger } from '@arca-net/log';
import type { ComponentHealth } from '../api/routes.js';
import type { LabContainers } from '../containers.js';

/** Backoff of one container's forwarder restarts. */
interface Backoff {
  fails: number;
  /** When the forwarder was last (re)started, ms. */
  since: number;
  /** Not before this time, ms. */
  due: number;
  restarts: number;
}

/** Options of {@link ForwarderSupervisor}. */
export interface ForwarderSupervisorOptions {
  containers: LabContainers;
  /** Restarts the forwarder of `name` if it should run and does not; true when it did. */
  revive: (name: string) => Promise<boolean>;
  logger: Logger;
  /** Check interval, ms (default 500). */
  intervalMs?: number;
  /** Cap of the restart delay, ms (default 30 000). */
  maxDelayMs?: number;
  /** Up this long, a forwarder's backoff starts again from zero, ms (default 30 000). */
  stableMs?: number;
}

/** Restarts dead forwarders of running lab containers. */
export class ForwarderSupervisor {
  readonly #timer: NodeJS.Timeout;
  readonly #state = new Map<string, Backoff>();
  #busy = false;
  #stopped = false;

  constructor(private readonly options: ForwarderSupervisorOptions) {
    this.#timer = setInterval(() => {
      if (this.#busy || this.#stopped) return;
      this.#busy = true;
      this.check()
        .catch((err: unknown) => options.logger.error({ err }, 'forwarder supervision failed'))
        .finally(() => {
          this.#busy = false;
        });
    }, options.intervalMs ?? 500);
    this.#timer.unref();
  }

  /** Restarts so far, per container name. */
  restarts(): Map<string, number> {
    return new Map([...this.#state].map(([name, b]) => [name, b.restarts]));
  }

  /** One round over every container that should run. */
  async check(): Promise<void> {
    const { containers, logger } = this.options;
    const maxDelay = this.options.maxDelayMs ?? 30_000;
    const stable = this.options.stableMs ?? 30_000;
    for (const record of containers.list()) {
      if (this.#stopped) return;
      if (record.stopped || (await containers.pid(record)) > 0) continue;
      const now = Date.now();
      let b = this.#state.get(record.name);
      if (!b) {
        b = { fails: 0, since: now, due: 0, restarts: 0 };
        this.#state.set(record.name, b);
      }
      if (b.due === 0) {
        if (now - b.since >= stable) b.fails = 0;
        b.fails++;
        const delay = b.fails === 1 ? 0 : Math.min(500 * 2 ** (b.fails - 2), maxDelay);
        b.due = now + delay;
        logger.warn(
          { container: record.name, attempt: b.fails, delayMs: delay },
          'forwarder is gone; restarting it',
        );
      }
      if (now < b.due) continue;
      try {
        if (await this.options.revive(record.name)) {
          b.restarts++;
          logger.info({ container: record.name, restarts: b.restarts }, 'forwarder restarted');
        }
      } catch (err) {
        logger.error({ container: record.name, err }, 'forwarder restart failed');
      }
      b.due = 0;
      b.since = Date.now();
    }
  }

  /** Stops supervising. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

/**
 * Rows of `lab status` from what the host library observed of each forwarder:
 * one row for all that answer and hold every device, one per other one.
 */
export function forwarderRows(seen: ForwarderObservation[]): ComponentHealth[] {
  const bad = seen.filter((o) => !o.reachable || o.activeNetworks < o.expectedNetworks);
  const restarts = seen.reduce((sum, o) => sum + o.restarts, 0);
  const rows: ComponentHealth[] = [
    {
      name: 'forwarders (observed)',
      healthy: bad.length === 0,
      detail: `${seen.length - bad.length} of ${seen.length} answer GetStatus with every device${restarts > 0 ? `; ${restarts} restarts repaired` : ''}`,
    },
  ];
  for (const o of bad) {
    rows.push({
      name: `forwarder ${o.containerName}`,
      healthy: false,
      detail: o.reachable
        ? `holds ${o.activeNetworks} of ${o.expectedNetworks} devices${o.error ? ` (${o.error})` : ''}`
        : `unreachable: ${(o.error ?? 'no answer').slice(0, 200)}`,
    });
  }
  return rows;
}
