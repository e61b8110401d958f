/**
 * Validation of an overlay network's router group (`CreateBridgeRequest.router`,
 * the host's network option `arca-net.router`; ../ovn/transit.ts builds it).
 */
import { invalid } from './errors.js';

const ROUTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** '' (isolated) or a valid group name on a non-internal overlay network; else INVALID_ARGUMENT. */
export function checkRouter(router: string, overlay: boolean, internal: boolean): string {
  if (router === '') return '';
  if (!ROUTER_NAME.test(router)) {
    throw invalid(
      `router ${JSON.stringify(router)} is not valid: use 1-64 of [A-Za-z0-9_.-], starting with a letter or digit`,
    );
  }
  if (!overlay) throw invalid(`router ${router}: only overlay networks can be routed`);
  if (internal) throw invalid(`router ${router}: an internal network cannot be routed`);
  return router;
}
