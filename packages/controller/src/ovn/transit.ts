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
 * the transit switch is named after i.
 *
 * Several controllers (one per host) join and leave one group in the shared
 * NB. Each join or leave reads the group (the transit switch's `ports`, which
 * is exactly its membership), decides from it (the next free index, which
 * routes to add or remove, whether it is the last member and the switch goes)
 * and writes in one OVSDB transaction that opens with a `wait` on the `ports`
 * it read (or on the switch being absent). If another host changed the group
 * in between, the server fails the whole transaction and the host reads again:
 * the changes of one group are serialized, so no join lands on a switch that
 * a leave deletes, and no route to a member outlives it (docs/cluster.md).
 */
import { createHash } from 'node:crypto';
import { formatIpv4, parseIpv4 } from '@arca-net/netaddr';
import { ExternalId } from './ids.js';
import { lrName, networkTag } from './names.js';
import {
  mapOf,
  mapOfRow,
  OvsdbGuardFailed,
  type OvsdbOp,
  type OvsdbTransactor,
  setOf,
  uuidAtom,
  uuidsOf,
} from './ovsdb-tx.js';

/** Addresses of the routers on a group's transit switch (one switch per group, so groups reuse it). */
export const TRANSIT_SUBNET = '169.254.0.0/16';
const TRANSIT_BASE = parseIpv4('169.254.0.0') as number;
const TRANSIT_PREFIX = 16;
const MAX_INDEX = 2 ** (32 - TRANSIT_PREFIX) - 2;
/** `external_ids` key naming the group on the network's switch and on transit rows. */
export const ROUTER_ID = 'arca-net:router';
/** How often a join or leave reads again after another host changed the group first. */
const ATTEMPTS = 32;

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

/** A group as one read found it. */
export interface GroupSnapshot {
  /** The transit switch (uuid, ports); absent when the group has no member. */
  ls?: { uuid: string; ports: string[] };
  /** The ports on it, each a member. */
  members: (TransitMember & { lspUuid: string })[];
}

const where = (uuid: string) => [['_uuid', '==', uuidAtom(uuid)]];

/** Reads the transit switch and its ports in one transaction (a consistent snapshot). */
async function readGroup(
  tx: OvsdbTransactor,
  router: string,
  extra: OvsdbOp[] = [],
): Promise<{ group: GroupSnapshot; extra: Record<string, unknown>[][] }> {
  const [switches = [], ports = [], ...rest] = await tx.select([
    {
      op: 'select',
      table: 'Logical_Switch',
      where: [['name', '==', transitLsName(router)]],
      columns: ['_uuid', 'ports'],
    },
    {
      op: 'select',
      table: 'Logical_Switch_Port',
      where: [
        [
          'external_ids',
          'includes',
          mapOf([
            [ExternalId.role, 'transit'],
            [ROUTER_ID, router],
          ]),
        ],
      ],
      columns: ['_uuid', 'external_ids'],
    },
    ...extra,
  ]);
  const [sw] = switches;
  const ls = sw && { uuid: uuidsOf(sw._uuid)[0] ?? '', ports: uuidsOf(sw.ports) };
  const members: GroupSnapshot['members'] = [];
  for (const row of ports) {
    const lspUuid = uuidsOf(row._uuid)[0] ?? '';
    // A port is a member while it is on the switch (nothing else refers to it).
    if (!ls?.ports.includes(lspUuid)) continue;
    const x = mapOfRow(row.external_ids);
    const networkId = x.get(ExternalId.networkId);
    const subnet = x.get(ExternalId.subnet);
    const address = x.get(ExternalId.ip);
    const ip = address === undefined ? undefined : parseIpv4(address);
    if (!networkId || !subnet || !address || ip === undefined) continue;
    members.push({ networkId, subnet, address, index: ip - TRANSIT_BASE, lspUuid });
  }
  return { group: { ...(ls ? { ls } : {}), members }, extra: rest };
}

/** The guard of a write: the group's switch still has exactly the ports read (or still none exists). */
function guard(router: string, group: GroupSnapshot): OvsdbOp {
  if (!group.ls) {
    return {
      op: 'wait',
      table: 'Logical_Switch',
      where: [['name', '==', transitLsName(router)]],
      columns: ['name'],
      until: '==',
      rows: [],
      timeout: 0,
    };
  }
  return {
    op: 'wait',
    table: 'Logical_Switch',
    where: where(group.ls.uuid),
    columns: ['ports'],
    until: '==',
    rows: [{ ports: setOf(group.ls.ports.map(uuidAtom)) }],
    timeout: 0,
  };
}

/** Reads, decides and writes until the write's guard holds; another host's change of the group in between means read again. */
async function serialized(
  what: string,
  attempt: () => Promise<OvsdbOp[] | undefined>,
  tx: OvsdbTransactor,
): Promise<void> {
  for (let n = 1; ; n++) {
    const ops = await attempt();
    if (!ops) return;
    try {
      await tx.transact(ops);
      return;
    } catch (err) {
      if (!(err instanceof OvsdbGuardFailed)) throw err;
      if (n >= ATTEMPTS) {
        throw new Error(`${what}: the group kept changing (${ATTEMPTS} attempts)`, { cause: err });
      }
    }
  }
}

/** A static route on a router (`lr-route-add ROUTER PREFIX NEXTHOP`), tagged with its group. */
function routeOps(router: string, onRouter: string, to: TransitMember, name: string): OvsdbOp[] {
  return [
    {
      op: 'insert',
      table: 'Logical_Router_Static_Route',
      'uuid-name': name,
      row: {
        ip_prefix: to.subnet,
        nexthop: to.address,
        external_ids: mapOf([
          [ExternalId.role, 'transit'],
          [ROUTER_ID, router],
          [ExternalId.networkId, to.networkId],
        ]),
      },
    },
    {
      op: 'mutate',
      table: 'Logical_Router',
      where: [['name', '==', lrName(onRouter)]],
      mutations: [['static_routes', 'insert', setOf([['named-uuid', name]])]],
    },
  ];
}

/** The write of a join: the switch (when the first), the member's ports, routes both ways with every member. */
export function joinOps(
  router: string,
  group: GroupSnapshot,
  me: TransitMember,
  own: { routerUuid: string; lrpUuid?: string },
): OvsdbOp[] {
  const ls = transitLsName(router);
  const lrp = transitLrpName(me.networkId);
  const ids = mapOf([
    [ExternalId.networkId, me.networkId],
    [ExternalId.role, 'transit'],
    [ROUTER_ID, router],
    [ExternalId.subnet, me.subnet],
    [ExternalId.ip, me.address],
  ]);
  const lspRef = setOf([['named-uuid', 'lsp']]);
  const lrpRow = {
    mac: transitMac(me.networkId),
    networks: setOf([`${me.address}/${TRANSIT_PREFIX}`]),
    external_ids: ids,
  };
  return [
    guard(router, group),
    // The network's own router is still there (it goes only with the network).
    {
      op: 'wait',
      table: 'Logical_Router',
      where: where(own.routerUuid),
      columns: ['name'],
      until: '==',
      rows: [{ name: lrName(me.networkId) }],
      timeout: 0,
    },
    {
      op: 'insert',
      table: 'Logical_Switch_Port',
      'uuid-name': 'lsp',
      row: {
        name: transitLspName(router, me.index),
        type: 'router',
        addresses: setOf(['router']),
        options: mapOf([['router-port', lrp]]),
        external_ids: ids,
      },
    },
    group.ls
      ? {
          op: 'mutate',
          table: 'Logical_Switch',
          where: where(group.ls.uuid),
          mutations: [['ports', 'insert', lspRef]],
        }
      : {
          op: 'insert',
          table: 'Logical_Switch',
          row: {
            name: ls,
            ports: lspRef,
            external_ids: mapOf([
              [ExternalId.role, 'transit'],
              [ROUTER_ID, router],
            ]),
          },
        },
    ...(own.lrpUuid
      ? [{ op: 'update', table: 'Logical_Router_Port', where: where(own.lrpUuid), row: lrpRow }]
      : [
          {
            op: 'insert',
            table: 'Logical_Router_Port',
            'uuid-name': 'lrp',
            row: { name: lrp, ...lrpRow },
          },
          {
            op: 'mutate',
            table: 'Logical_Router',
            where: where(own.routerUuid),
            mutations: [['ports', 'insert', setOf([['named-uuid', 'lrp']])]],
          },
        ]),
    ...group.members
      .filter((m) => m.networkId !== me.networkId)
      .flatMap((m, i) => [
        ...routeOps(router, me.networkId, m, `to${i}`),
        ...routeOps(router, m.networkId, me, `from${i}`),
      ]),
  ];
}

/**
 * Makes the network's router a member of `router`'s group: a transit address
 * (the next free index), its ports, and routes both ways with every member,
 * in one transaction guarded by the membership it was computed from.
 */
export async function joinTransit(
  tx: OvsdbTransactor,
  net: { networkId: string; subnet: string; router: string },
): Promise<void> {
  const lr = lrName(net.networkId);
  await serialized(
    `router ${net.router}: joining`,
    async () => {
      const { group, extra } = await readGroup(tx, net.router, [
        { op: 'select', table: 'Logical_Router', where: [['name', '==', lr]], columns: ['_uuid'] },
        {
          op: 'select',
          table: 'Logical_Router_Port',
          where: [['name', '==', transitLrpName(net.networkId)]],
          columns: ['_uuid'],
        },
      ]);
      if (group.members.some((m) => m.networkId === net.networkId)) return undefined;
      const routerUuid = uuidsOf(extra[0]?.[0]?._uuid)[0];
      if (!routerUuid) throw new Error(`network ${net.networkId} has no router ${lr} to route`);
      const lrpUuid = uuidsOf(extra[1]?.[0]?._uuid)[0];
      const used = new Set(group.members.map((m) => m.index));
      let index = 1;
      while (used.has(index)) index++;
      if (index > MAX_INDEX) throw new Error(`router ${net.router} has no transit address left`);
      const me: TransitMember = {
        networkId: net.networkId,
        subnet: net.subnet,
        address: formatIpv4(TRANSIT_BASE + index),
        index,
      };
      return joinOps(net.router, group, me, { routerUuid, ...(lrpUuid ? { lrpUuid } : {}) });
    },
    tx,
  );
}

/**
 * The write of a leave: the member's port off the switch, every other
 * member's routes to it (`routes`: the route rows to its subnet via its
 * transit address), and the switch itself when no port is left.
 */
export function leaveOps(
  router: string,
  group: GroupSnapshot & { ls: { uuid: string; ports: string[] } },
  me: { networkId: string; lspUuid?: string },
  routes: string[],
): OvsdbOp[] {
  const left = group.ls.ports.filter((p) => p !== me.lspUuid);
  const ops: OvsdbOp[] = [guard(router, group)];
  if (me.lspUuid) {
    ops.push({
      op: 'mutate',
      table: 'Logical_Switch',
      where: where(group.ls.uuid),
      mutations: [['ports', 'delete', setOf([uuidAtom(me.lspUuid)])]],
    });
  }
  if (routes.length > 0) {
    for (const m of group.members) {
      if (m.networkId === me.networkId) continue;
      ops.push({
        op: 'mutate',
        table: 'Logical_Router',
        where: [['name', '==', lrName(m.networkId)]],
        mutations: [['static_routes', 'delete', setOf(routes.map(uuidAtom))]],
      });
    }
  }
  if (left.length === 0)
    ops.push({ op: 'delete', table: 'Logical_Switch', where: where(group.ls.uuid) });
  return ops;
}

/**
 * Takes a network out of its group: its transit port, the other members'
 * routes to it, and the transit switch when no member is left, in one
 * transaction guarded by the membership it was computed from. Its own router
 * (with its transit port and routes) goes with the network, afterwards. A
 * transit switch left without ports (by an older version) goes too.
 */
export async function leaveTransit(
  tx: OvsdbTransactor,
  networkId: string,
  router: string,
): Promise<void> {
  await serialized(
    `router ${router}: leaving`,
    async () => {
      const { group } = await readGroup(tx, router);
      const ls = group.ls;
      if (!ls) return undefined;
      const me = group.members.find((m) => m.networkId === networkId);
      if (!me) {
        return ls.ports.length === 0
          ? leaveOps(router, { ...group, ls }, { networkId }, [])
          : undefined;
      }
      // Routes to it: read after the group; the guard fails if a join added one since.
      const [routes = []] = await tx.select([
        {
          op: 'select',
          table: 'Logical_Router_Static_Route',
          where: [
            ['ip_prefix', '==', me.subnet],
            ['nexthop', '==', me.address],
          ],
          columns: ['_uuid'],
        },
      ]);
      const uuids = routes.flatMap((r) => uuidsOf(r._uuid));
      return leaveOps(router, { ...group, ls }, me, uuids);
    },
    tx,
  );
}
