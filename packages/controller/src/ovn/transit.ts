/**
 * Routed overlay networks (the network option `arca-net.router`, docs/cluster.md):
 * overlay networks that name the same router are routed to each other by OVN
 * on every chassis. Each network keeps its own logical router (gateway,
 * SNAT, published ports, default route: unchanged); the routers of one group
 * meet on a transit logical switch of that group, each with a port on the
 * transit subnet {@link TRANSIT_SUBNET}, and each router has a static route to
 * every other member's subnet via that member's transit address. The transit
 * ports are plain distributed router ports (no gateway chassis), so a packet
 * is routed on the chassis it enters and tunnelled straight to the chassis of
 * its destination: no gateway hop.
 *
 * A member's transit address is index i of the transit subnet, and its port on
 * the transit switch is named after i: the NB's unique index on port names
 * makes two helpers that join at the same moment pick different addresses (the
 * loser's transaction fails and it tries the next free index).
 */
import { createHash } from 'node:crypto';
import { formatIpv4, parseIpv4 } from '@arca-net/netaddr';
import { ExternalId } from './ids.js';
import { str, strMap } from './json.js';
import { lrName, networkTag } from './names.js';
import type { Nbctl } from './nbctl.js';
import { type Cmd, kv, mapValue } from './ovsdb.js';

/** Addresses of the routers on a group's transit switch (one switch per group, so groups reuse it). */
export const TRANSIT_SUBNET = '169.254.0.0/16';
const TRANSIT_BASE = parseIpv4('169.254.0.0') as number;
const TRANSIT_PREFIX = 16;
const MAX_INDEX = 2 ** (32 - TRANSIT_PREFIX) - 2;
/** `external_ids` key naming the group on the network's switch and on transit rows. */
export const ROUTER_ID = 'arca-net:router';
/** How often a join retries after losing an index to another helper. */
const JOIN_ATTEMPTS = 8;

function tag(router: string): string {
  return createHash('sha256').update(`router\0${router}`).digest('hex').slice(0, 12);
}

/** The transit switch of a router group. */
export function transitLsName(router: string): string {
  return `an-rt-${tag(router)}`;
}

/** The switch-side port of the member holding transit index `index`. */
export function transitLspName(router: string, index: number): string {
  return `an-rt-${tag(router)}-${index}`;
}

/** The network router's port on the transit switch. */
export function transitLrpName(networkId: string): string {
  return `an-lrt-${networkTag(networkId)}`;
}

function transitMac(networkId: string): string {
  const hex = createHash('sha256').update(`transit-mac\0${networkId}`).digest('hex');
  return ['0a', ...[0, 2, 4, 6, 8].map((i) => hex.slice(i, i + 2))].join(':');
}

/** One member of a router group as its transit port records it. */
export interface TransitMember {
  networkId: string;
  subnet: string;
  /** Its router's address on the transit switch. */
  address: string;
  index: number;
}

/** The members of a group, from their transit ports in the NB. */
export async function transitMembers(nbctl: Nbctl, router: string): Promise<TransitMember[]> {
  const rows = await nbctl.find(
    'Logical_Switch_Port',
    [kv('external_ids', ExternalId.role, 'transit'), kv('external_ids', ROUTER_ID, router)],
    ['external_ids'],
  );
  const out: TransitMember[] = [];
  for (const row of rows) {
    const x = strMap(row, 'external_ids');
    const networkId = x.get(ExternalId.networkId);
    const subnet = x.get(ExternalId.subnet);
    const address = x.get(ExternalId.ip);
    const ip = address === undefined ? undefined : parseIpv4(address);
    if (!networkId || !subnet || !address || ip === undefined) continue;
    out.push({ networkId, subnet, address, index: ip - TRANSIT_BASE });
  }
  return out;
}

/** Routes between `net` and every other member, both ways (idempotent). */
function routeCmds(net: TransitMember, others: readonly TransitMember[]): Cmd[] {
  return others
    .filter((m) => m.networkId !== net.networkId)
    .flatMap((m): Cmd[] => [
      ['--may-exist', 'lr-route-add', lrName(net.networkId), m.subnet, m.address],
      ['--may-exist', 'lr-route-add', lrName(m.networkId), net.subnet, net.address],
    ]);
}

/** The transit switch, the member's port on it, and its router's transit port. */
function joinCmds(router: string, member: TransitMember): Cmd[] {
  const ls = transitLsName(router);
  const lsp = transitLspName(router, member.index);
  const lrp = transitLrpName(member.networkId);
  const ids = mapValue('external_ids', [
    [ExternalId.networkId, member.networkId],
    [ExternalId.role, 'transit'],
    [ROUTER_ID, router],
    [ExternalId.subnet, member.subnet],
    [ExternalId.ip, member.address],
  ]);
  return [
    ['--may-exist', 'ls-add', ls],
    [
      'set',
      'Logical_Switch',
      ls,
      mapValue('external_ids', [
        [ExternalId.role, 'transit'],
        [ROUTER_ID, router],
      ]),
    ],
    // No --may-exist: the port's name is the address's lock (see above).
    ['lsp-add', ls, lsp],
    ['lsp-set-type', lsp, 'router'],
    ['lsp-set-addresses', lsp, 'router'],
    ['lsp-set-options', lsp, `router-port=${lrp}`],
    ['set', 'Logical_Switch_Port', lsp, ids],
    [
      '--may-exist',
      'lrp-add',
      lrName(member.networkId),
      lrp,
      transitMac(member.networkId),
      `${member.address}/${TRANSIT_PREFIX}`,
    ],
    ['set', 'Logical_Router_Port', lrp, ids],
  ];
}

/**
 * Makes the network's router a member of `router`'s group: a transit address,
 * its ports, and routes both ways with every member. After its own commit it
 * reads the members again and adds the routes of members that joined at the
 * same moment (the later of two concurrent joiners sees the earlier one).
 */
export async function joinTransit(
  nbctl: Nbctl,
  net: { networkId: string; subnet: string; router: string },
): Promise<void> {
  let self: TransitMember | undefined;
  for (let attempt = 1; !self; attempt++) {
    const members = await transitMembers(nbctl, net.router);
    const mine = members.find((m) => m.networkId === net.networkId);
    if (mine) {
      self = mine;
      break;
    }
    const used = new Set(members.map((m) => m.index));
    let index = 1;
    while (used.has(index)) index++;
    if (index > MAX_INDEX) throw new Error(`router ${net.router} has no transit address left`);
    const member: TransitMember = {
      networkId: net.networkId,
      subnet: net.subnet,
      address: formatIpv4(TRANSIT_BASE + index),
      index,
    };
    try {
      await nbctl.transact([...joinCmds(net.router, member), ...routeCmds(member, members)]);
      self = member;
    } catch (err) {
      if (attempt >= JOIN_ATTEMPTS) throw err;
    }
  }
  const now = await transitMembers(nbctl, net.router);
  const cmds = routeCmds(self, now);
  if (cmds.length > 0) await nbctl.transact(cmds);
}

/**
 * Takes a network out of its group: its transit port, the other members'
 * routes to it, and the transit switch when no member is left. Its own router
 * (with its transit port and routes) goes with the network.
 */
export async function leaveTransitCmds(nbctl: Nbctl, networkId: string): Promise<Cmd[]> {
  const rows = await nbctl.find(
    'Logical_Switch_Port',
    [
      kv('external_ids', ExternalId.role, 'transit'),
      kv('external_ids', ExternalId.networkId, networkId),
    ],
    ['name', 'external_ids'],
  );
  const cmds: Cmd[] = [];
  for (const row of rows) {
    const x = strMap(row, 'external_ids');
    const router = x.get(ROUTER_ID) ?? '';
    const subnet = x.get(ExternalId.subnet) ?? '';
    const others = (await transitMembers(nbctl, router)).filter((m) => m.networkId !== networkId);
    cmds.push(['--if-exists', 'lsp-del', str(row, 'name')]);
    for (const m of others) {
      cmds.push(['--if-exists', 'lr-route-del', lrName(m.networkId), subnet]);
    }
    if (others.length === 0) cmds.push(['--if-exists', 'ls-del', transitLsName(router)]);
  }
  return cmds;
}
