/**
 * @arca-net/controller: the helper VM's NetworkControl server, its OVN/OVS
 * driver and helper relays. `startController` embeds it (the lab, tests).
 */

export { type ControllerClient, connectController } from './client.js';
export { ControllerError, ERROR_CODES, type ErrorCode } from './domain/errors.js';
export { dnsNames, type NetworkView } from './domain/network-view.js';
export { Networks } from './domain/networks.js';
export type { PolicyRule } from './domain/policy.js';
export { checkControllerHealth } from './health-check.js';
export { CliOvnDriver, type OvnDriver, type OvnHealth } from './ovn/driver.js';
export { OvnError, type OvnFailureKind } from './ovn/errors.js';
export { createToolRunner, type Tool, ToolError, type ToolRunner } from './ovn/exec.js';
export type { EndpointRecord, NetworkRecord, OvnState, UplinkRecord } from './ovn/model.js';
export {
  externalLocalnetName,
  externalLsName,
  externalLspName,
  lbName,
  lrName,
  lrpName,
  lrxName,
  lsName,
  lspName,
  routerLspName,
} from './ovn/names.js';
export { transitLrpName, transitLsName } from './ovn/transit.js';
export { ovsPortRcvbuf, raiseOvsPortBuffers } from './ovs/port-buffers.js';
export type { AttachmentLink, DataPath } from './relay/datapath.js';
export {
  type Controller,
  type ControllerOptions,
  type OvnLocation,
  parseControllerListen,
  startController,
} from './server/server.js';
