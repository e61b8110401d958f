/**
 * The network option `arca-net.router=NAME` (docs/cluster.md, "Routed overlay
 * networks"): overlay networks created with the same NAME are routed to each
 * other by OVN on every chassis; networks without it stay isolated, as
 * Docker's are. The helper builds the group (controller ovn/transit.ts).
 */
import { errors } from './errors.js';
import type { NetworkRecord } from './state.js';

/** The network option naming an overlay network's router group. */
export const ROUTER_OPTION = 'arca-net.router';

const ROUTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The group named by `arca-net.router` ('' for none); INVALID_OPTION when it cannot apply. */
export function optionRouter(
  options: Readonly<Record<string, string>>,
  overlay: boolean,
  internal: boolean,
): string {
  const name = options[ROUTER_OPTION];
  if (name === undefined) return '';
  if (!ROUTER_NAME.test(name)) {
    throw errors.invalidOption(
      `invalid ${ROUTER_OPTION} ${JSON.stringify(name)}: use 1-64 of [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  if (!overlay) {
    throw errors.invalidOption(`${ROUTER_OPTION} is only supported on overlay networks`);
  }
  if (internal) {
    throw errors.invalidOption(`${ROUTER_OPTION} cannot be used on an internal network`);
  }
  return name;
}

/** The router group of a network record ('' = isolated). */
export function networkRouter(n: Pick<NetworkRecord, 'options'>): string {
  return n.options[ROUTER_OPTION] ?? '';
}
