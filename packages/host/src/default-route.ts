/**
 * Which attachment carries a container's one default route, by Docker's
 * rule (libnetwork's endpoint order): internal networks never do; among the
 * others the highest `--gw-priority` wins, then the network whose name sorts
 * first. Docker 20.10 also routes through an internal network's gateway when
 * that is all a container has; here internal networks never carry it (as
 * newer Docker's bridge driver), so an internal-only container has none.
 */
import type { ForwarderPool } from './forwarders.js';
import type { AttachmentRecord, ContainerRecord, StateStore } from './state.js';

/** The attachment of `containerId` that carries the default route, if any (stopped ones count). */
export function defaultRouteAttachment(
  state: StateStore,
  containerId: string,
  without?: string,
): AttachmentRecord | undefined {
  const ranked = state
    .attachmentsOfContainer(containerId)
    .filter((a) => a.networkId !== without && a.status !== 'detaching')
    .flatMap((a) => {
      const n = state.getNetwork(a.networkId);
      return n && !n.internal ? [{ a, name: n.name, priority: a.gwPriority ?? 0 }] : [];
    })
    .sort((x, y) =>
      x.priority !== y.priority ? y.priority - x.priority : x.name < y.name ? -1 : 1,
    );
  return ranked[0]?.a;
}

/**
 * Points the running container's default route at the attachment that
 * should carry it now (after a connect, disconnect or start); none removes it.
 */
export async function applyDefaultRoute(
  state: StateStore,
  forwarders: ForwarderPool,
  c: ContainerRecord,
): Promise<void> {
  if (!c.running) return;
  const best = defaultRouteAttachment(state, c.id);
  const ready = best?.status === 'ready' ? best : undefined;
  await forwarders.setDefaultRoute(c, ready?.device ?? '', ready?.gateway ?? '');
}
