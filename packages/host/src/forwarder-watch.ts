/**
 * The forwarder watch: polls every running container's forwarder (GetStatus)
 * the way {@link HelperWatch} polls the helper, records what it observes for
 * `lab status`, and re-applies a container's attachments when its forwarder
 * restarted (its uptime went backwards, or it holds fewer devices than the
 * container has ready attachments: a fresh forwarder holds none).
 */
import type { Logger } from '@arca-net/log';
import type { AttachmentParts, Attachments } from './attach.js';
import type { ContainerRecord } from './state.js';

/** What the watch last saw of one container's forwarder. */
export interface ForwarderObservation {
  containerId: string;
  containerName: string;
  /** GetStatus answered at the last poll. */
  reachable: boolean;
  /** Its uptime at the last answer, seconds (-1 before the first answer). */
  uptimeSeconds: number;
  /** Devices it held at the last answer. */
  activeNetworks: number;
  /** Ready attachments the host expects it to hold. */
  expectedNetworks: number;
  /** Restarts seen since this process started (each one re-applied). */
  restarts: number;
  /** The last failed poll or repair, if the last one failed. */
  error?: string;
}

/** Callbacks of {@link ForwarderWatch}. */
export interface ForwarderWatchHooks {
  /** Running containers whose forwarder can be reached, with their ready attachment count. */
  targets(): Array<{ container: ContainerRecord; expected: number }>;
  status(
    c: ContainerRecord,
    signal: AbortSignal,
  ): Promise<{ uptimeSeconds: number; activeNetworks: number }>;
  /** Re-applies the container's attachments (serialised with every other mutation). */
  repair(containerId: string): Promise<unknown>;
}

/** Containers polled at the same time. */
const POLL_CONCURRENCY = 8;

/** Polls forwarders every `intervalMs` and repairs restarted ones. */
export class ForwarderWatch {
  readonly #timer: NodeJS.Timeout;
  readonly #seen = new Map<string, ForwarderObservation>();
  #stopped = false;
  #busy = false;

  constructor(
    private readonly hooks: ForwarderWatchHooks,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.#timer = setInterval(() => {
      if (this.#busy || this.#stopped) return;
      this.#busy = true;
      this.poll().finally(() => {
        this.#busy = false;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  /** What was observed of each running container's forwarder at the last poll. */
  observations(): ForwarderObservation[] {
    return [...this.#seen.values()];
  }

  /** One round: every target polled, restarted forwarders repaired. Never rejects. */
  async poll(): Promise<void> {
    const targets = this.hooks.targets();
    const ids = new Set(targets.map((t) => t.container.id));
    for (const id of [...this.#seen.keys()]) if (!ids.has(id)) this.#seen.delete(id);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length && !this.#stopped) {
        const target = targets[next++];
        if (target) await this.#pollOne(target.container, target.expected);
      }
    };
    await Promise.all(Array.from({ length: Math.min(POLL_CONCURRENCY, targets.length) }, worker));
  }

  async #pollOne(c: ContainerRecord, expected: number): Promise<void> {
    const before = this.#seen.get(c.id);
    const seen: ForwarderObservation = before ?? {
      containerId: c.id,
      containerName: c.name,
      reachable: false,
      uptimeSeconds: -1,
      activeNetworks: 0,
      expectedNetworks: expected,
      restarts: 0,
    };
    seen.expectedNetworks = expected;
    this.#seen.set(c.id, seen);
    let status: { uptimeSeconds: number; activeNetworks: number };
    try {
      status = await this.hooks.status(c, AbortSignal.timeout(Math.max(this.intervalMs, 1000)));
    } catch (err) {
      if (seen.reachable) this.log.warn({ container: c.name, err }, 'forwarder unreachable');
      seen.reachable = false;
      seen.error = err instanceof Error ? err.message : String(err);
      return;
    }
    const restarted = seen.uptimeSeconds >= 0 && status.uptimeSeconds < seen.uptimeSeconds;
    const missing = status.activeNetworks < expected;
    seen.reachable = true;
    seen.uptimeSeconds = status.uptimeSeconds;
    seen.activeNetworks = status.activeNetworks;
    delete seen.error;
    if (!(restarted || missing) || this.#stopped) return;
    seen.restarts++;
    this.log.info(
      { container: c.name, restarted, active: status.activeNetworks, expected },
      'forwarder restarted, re-applying its attachments',
    );
    try {
      await this.hooks.repair(c.id);
    } catch (err) {
      seen.error = `re-applying its attachments failed: ${err instanceof Error ? err.message : String(err)}`;
      this.log.error({ container: c.name, err }, 're-applying a forwarder failed');
    }
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}

/**
 * Brings every ready attachment of `c` back on its (restarted) forwarder:
 * the same device, IP, MAC and port (helper and forwarder calls are
 * idempotent; the relay re-dials by itself), then DNS and the default route.
 */
export async function reapplyContainer(
  parts: AttachmentParts,
  attachments: Attachments,
  containerId: string,
): Promise<void> {
  const { state, forwarders, dns } = parts;
  const c = state.getContainer(containerId);
  if (!c?.running || !forwarders.knows(c.id)) return;
  const failures: unknown[] = [];
  for (const a of state.attachmentsOfContainer(c.id)) {
    const n = state.getNetwork(a.networkId);
    if (!n || a.status !== 'ready' || a.port === null) continue;
    try {
      await attachments.bringUp(c, n, a, 'replay');
    } catch (err) {
      failures.push(err);
    }
  }
  await dns.push(c, false);
  await attachments.routeDefault(c);
  if (failures.length > 0) throw failures[0];
}

/** The count {@link ForwarderWatch} compares a forwarder's devices with. */
export function readyAttachments(parts: AttachmentParts, containerId: string): number {
  return parts.state
    .attachmentsOfContainer(containerId)
    .filter((a) => a.status === 'ready' && a.port !== null).length;
}

/** The backend's forwarder watch: running containers with a known endpoint, repaired through `repair`. */
export function watchForwarders(
  p: AttachmentParts,
  intervalMs: number,
  repair: (containerId: string) => Promise<unknown>,
): ForwarderWatch {
  return new ForwarderWatch(
    {
      targets: () =>
        p.state
          .listContainers()
          .filter((c) => c.running && p.forwarders.knows(c.id))
          .map((container) => ({ container, expected: readyAttachments(p, container.id) })),
      status: async (c, signal) => {
        const s = await p.forwarders.getStatus(c, signal);
        return { uptimeSeconds: Number(s.uptimeSeconds), activeNetworks: s.activeNetworks };
      },
      repair,
    },
    intervalMs,
    p.log.child({ component: 'forwarder-watch' }),
  );
}
