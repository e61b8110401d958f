/**
 * Reconcile (make the helper and the VMs match the persisted state) and the
 * helper health watch that runs it by itself when the helper comes back.
 */
import type { Logger } from '@arca-net/log';
import { type AttachmentParts, type Attachments, linkKey } from './attach.js';
import type { HelperClient } from './helper-client.js';

/** What {@link reconcile} did. */
export interface ReconcileReport {
  networks: number;
  restored: number;
  rolledBack: number;
  orphansRemoved: number;
  failures: Array<{ object: string; error: string }>;
}

/**
 * Replays CreateBridge for every network and AttachContainer / AttachNetwork
 * for every attachment of a running container (both idempotent), re-dials
 * missing relays, rolls back half-done connects and finishes half-done
 * disconnects, removes the helper's networks and endpoints that the state
 * does not know, and pushes DNS snapshots. A failure of one object is
 * reported and the others go on; only an unreachable ListBridges rejects.
 */
export async function reconcile(
  parts: AttachmentParts,
  attachments: Attachments,
): Promise<ReconcileReport> {
  const { state, ports, helper, forwarders, dns, log } = parts;
  const report: ReconcileReport = {
    networks: 0,
    restored: 0,
    rolledBack: 0,
    orphansRemoved: 0,
    failures: [],
  };
  const fail = (object: string, err: unknown) => {
    report.failures.push({ object, error: err instanceof Error ? err.message : String(err) });
    log.error({ object, err }, 'reconcile step failed');
  };

  const bridges = await helper.listBridges();
  const networks = new Map(state.listNetworks().map((n) => [n.id, n]));

  // Orphans: networks and endpoints the helper has but the state does not want.
  const wanted = new Set(
    state
      .listAttachments()
      .filter((a) => a.status === 'ready' || (a.status === 'stopped' && a.port !== null))
      .map((a) => linkKey(a.containerId, a.networkId)),
  );
  for (const bridge of bridges) {
    const containerIds =
      bridge.endpoints.length > 0 ? bridge.endpoints.map((e) => e.containerId) : bridge.containers;
    for (const containerId of containerIds) {
      if (networks.has(bridge.networkId) && wanted.has(linkKey(containerId, bridge.networkId))) {
        continue;
      }
      try {
        if (await helper.detachContainer(containerId, bridge.networkId, containerId)) {
          report.orphansRemoved++;
        }
      } catch (err) {
        fail(`endpoint ${containerId}/${bridge.networkId}`, err);
      }
    }
    if (!networks.has(bridge.networkId)) {
      try {
        if (await helper.deleteBridge(bridge.networkId)) report.orphansRemoved++;
      } catch (err) {
        fail(`network ${bridge.networkId}`, err);
      }
    }
  }

  for (const n of networks.values()) {
    try {
      await helper.createBridge(n, dns.upstreamsOf(n));
      report.networks++;
    } catch (err) {
      fail(`network ${n.name}`, err);
    }
  }

  const touched = new Set<string>();
  for (const a of state.listAttachments()) {
    const c = state.getContainer(a.containerId);
    const n = networks.get(a.networkId);
    if (!c || !n) continue;
    try {
      if (a.status === 'pending' || a.status === 'detaching') {
        await attachments.teardown(c, a, { forwarder: c.running });
        state.deleteAttachment(c.id, n.id);
        if (a.port !== null) ports.release(a.port);
        report.rolledBack++;
        touched.add(n.id);
      } else if (!c.running || !forwarders.knows(c.id)) {
        if (a.port !== null) {
          await attachments.teardown(c, a, { forwarder: false });
          state.updateAttachment(c.id, n.id, { status: 'stopped', port: null });
          ports.release(a.port);
          touched.add(n.id);
        }
      } else if (a.status === 'ready' && a.port !== null) {
        await attachments.bringUp(c, n, a, 'replay');
        report.restored++;
        touched.add(n.id);
      } else {
        await attachments.restore(c, a);
        report.restored++;
        touched.add(n.id);
      }
    } catch (err) {
      fail(`${c.name} on ${n.name}`, err);
    }
  }
  await dns.pushToNetworks(touched);
  log.info(report, 'reconciled');
  return report;
}

/**
 * Polls the helper's GetHealth every `intervalMs` and calls `onBack` when
 * the helper is back after being unreachable, or when its uptime went
 * backwards: a helper VM that restarted between two polls (and may have lost
 * its disk) is caught too. `onBack` rejecting counts as the helper being
 * down, so the next good poll tries again.
 */
export class HelperWatch {
  readonly #timer: NodeJS.Timeout;
  #stopped = false;

  constructor(
    helper: HelperClient,
    intervalMs: number,
    onBack: () => Promise<unknown>,
    log: Logger,
  ) {
    let busy = false;
    let up = true;
    let lastUptime = -1;
    this.#timer = setInterval(() => {
      if (busy || this.#stopped) return;
      busy = true;
      helper
        .uptimeSeconds(AbortSignal.timeout(Math.max(intervalMs, 500)))
        .then(
          (uptime) => uptime,
          () => undefined,
        )
        .then(async (uptime) => {
          const nowUp = uptime !== undefined;
          const cameBack = nowUp && !up;
          const restarted = nowUp && uptime < lastUptime;
          up = nowUp;
          if (nowUp) lastUptime = uptime;
          if ((cameBack || restarted) && !this.#stopped) {
            log.info({ cameBack, restarted }, 'helper is back, reconciling');
            await onBack().catch((err: unknown) => {
              up = false;
              log.error({ err }, 'reconcile after helper restart failed');
            });
          }
        })
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }
}
