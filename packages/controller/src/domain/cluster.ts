/**
 * A helper in a cluster of hosts (startup.sh's ARCA_HELPER_ROLE, docs/cluster.md)
 * shares the central NB database with every other helper. Its view keeps what
 * it owns: its host's own networks, every overlay network, and only the
 * endpoints bound on its own chassis (the others belong to other helpers, which
 * reopen their data paths and publish their ports themselves). Nothing in the
 * shared database is an orphan of this helper: another one may be halfway
 * through a transaction.
 */
import type { OvnState } from '../ovn/model.js';

/** The part of the shared NB state that the helper on `chassis` owns. */
export function scopeState(state: OvnState, chassis: string): OvnState {
  const networks = state.networks.filter(
    (n) => n.driver === 'overlay' || n.chassis === undefined || n.chassis === chassis,
  );
  const kept = new Map(networks.map((n) => [n.networkId, n]));
  const endpoints = state.endpoints.filter((ep) => {
    const net = kept.get(ep.networkId);
    if (!net) return false;
    return ep.chassis === chassis || (ep.chassis === undefined && net.driver !== 'overlay');
  });
  const attached = new Set(endpoints.map((ep) => `${ep.networkId}/${ep.containerId}`));
  return {
    networks,
    endpoints,
    published: state.published.filter((p) => attached.has(`${p.networkId}/${p.containerId}`)),
    dns: state.dns,
    orphans: [],
  };
}
