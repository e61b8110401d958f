/**
 * Docker's side of the backend: what `docker network create` / `connect` and
 * container registration accept, their validation with Docker's rules and
 * errors, and the network in `docker network inspect`'s shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { VmEndpoint } from '@arca-net/vsock';
import { optionUpstreams } from './dns-upstreams.js';
import { errors } from './errors.js';
import { planNetworkAddressing } from './ipam.js';
import { checkContainerBounds } from './limits.js';
import { optionRouter } from './router-option.js';
import type { AttachmentRecord, ContainerRecord, NetworkRecord, StateStore } from './state.js';

/** What `createNetwork` accepts (`docker network create`). */
export interface CreateNetworkOptions {
  name: string;
  /** IPv4 CIDR; default: the first free Docker default pool. */
  subnet?: string;
  /** Default: the subnet's first host address. */
  gateway?: string;
  /** CIDR inside the subnet from which container addresses are allocated. */
  ipRange?: string;
  /** No egress and no published ports; DNS still works. */
  internal?: boolean;
  /** 0 / absent = 1500. `options['com.docker.network.driver.mtu']` is honoured too; this wins. */
  mtu?: number;
  labels?: Record<string, string>;
  /** Driver options, stored for inspect. */
  options?: Record<string, string>;
  /**
   * `--driver`: `bridge` (the default, this host's) or `overlay` (the whole cluster's, in the
   * central NB: docs/cluster.md; MTU 1400 unless set); another is Docker's `plugin "X" not found`.
   */
  driver?: string;
  /** Every `--subnet` given: more than one is refused as Docker's bridge driver does. */
  subnets?: string[];
}

/** One endpoint in {@link NetworkInspect.Containers}, as `docker network inspect` shows it. */
export interface NetworkEndpointInspect {
  Name: string;
  /** {@link endpointId} of the container on the network. */
  EndpointID: string;
  MacAddress: string;
  /** `ip/prefix`. */
  IPv4Address: string;
  IPv6Address: string;
}

/**
 * A network as Docker 20.10's `docker network inspect` shows it, and nothing
 * else: the one shape of a network for every caller. The MTU, when set, is
 * the `com.docker.network.driver.mtu` entry of `Options`; a container's
 * aliases are per attachment (`AttachmentInfo.aliases`).
 */
export interface NetworkInspect {
  Name: string;
  Id: string;
  /** ISO 8601. */
  Created: string;
  /** 'swarm' and 'overlay' for a network of the whole cluster (docs/cluster.md). */
  Scope: 'local' | 'swarm';
  Driver: 'bridge' | 'overlay';
  EnableIPv6: false;
  IPAM: {
    Driver: 'default';
    Options: Record<string, string>;
    /** One IPv4 pool: the subnet, its gateway and the allocation range when one was given. */
    Config: Array<{ Subnet: string; Gateway: string; IPRange?: string }>;
  };
  Internal: boolean;
  /** True for overlay networks (standalone containers may connect, as `--attachable`). */
  Attachable: boolean;
  Ingress: false;
  ConfigFrom: { Network: '' };
  ConfigOnly: false;
  /** Running containers on the network, keyed by container id. */
  Containers: Record<string, NetworkEndpointInspect>;
  /** The driver options the user gave, with the effective MTU under {@link MTU_OPTION} when set. */
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** A container as the runtime registers it. */
export interface ContainerSpec {
  /** Full container id (64 hex in Docker). */
  id: string;
  /** Container name (also its DNS name on every network). */
  name: string;
  /** How the host reaches the container VM (TAPForwarder on 5555, data ports P). */
  endpoint: VmEndpoint;
  /** Whether the container is running now; absent = keep what the state says (new: false). */
  running?: boolean;
}

/** Options of `connect` (`docker network connect`). */
export interface ConnectOptions {
  /** Static IPv4 address (`--ip`). */
  ip?: string;
  /** Extra DNS names on this network (`--alias`). */
  aliases?: string[];
  /** Unicast MAC; default: stable per (container, network). */
  mac?: string;
  /** `--gw-priority`: the highest among non-internal networks carries the default route (default 0). */
  gwPriority?: number;
  /** Offload framing for this attachment (driver option `arca-net.offload`); default: the backend's. */
  offload?: 'auto' | 'on' | 'off';
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const CONTAINER_ID_RE = /^[0-9a-f]{64}$/;
const ALIAS_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$/;
/** MTU of an overlay network unless set: room for Geneve's 58 bytes on a 1500-byte underlay. */
export const OVERLAY_DEFAULT_MTU = 1400;
/** The driver option that carries a network's MTU in Docker. */
export const MTU_OPTION = 'com.docker.network.driver.mtu';

/** Throws Docker's error unless `name` is a valid network name. */
export function checkNetworkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw errors.invalidName(name, 'use 1-63 characters of [A-Za-z0-9_.-], starting alphanumeric');
  }
}

/**
 * The record of a new network: addressing planned against `takenSubnets`
 * (Docker's default pools, overlap and gateway rules), the MTU checked, a
 * fresh id. The name is checked by the caller ({@link checkNetworkName}).
 */
export function newNetworkRecord(
  options: CreateNetworkOptions,
  takenSubnets: readonly string[],
): NetworkRecord {
  const overlay = options.driver === 'overlay';
  if (
    options.driver !== undefined &&
    options.driver !== '' &&
    options.driver !== 'bridge' &&
    !overlay
  ) {
    throw errors.pluginNotFound(options.driver);
  }
  const subnets = options.subnets ?? [];
  if (subnets.length > 1) throw errors.multipleSubnets();
  const subnet = options.subnet ?? subnets[0];
  const addressing = planNetworkAddressing(
    subnet === undefined ? options : { ...options, subnet },
    takenSubnets,
  );
  const mtuText = options.options?.[MTU_OPTION];
  const given = options.mtu ?? (mtuText === undefined ? 0 : Number(mtuText));
  // Geneve costs 58 bytes of the underlay's 1500 (docs/cluster.md).
  const mtu = overlay && given === 0 ? OVERLAY_DEFAULT_MTU : given;
  if (!Number.isInteger(mtu) || (mtu !== 0 && (mtu < 68 || mtu > 65535))) {
    throw errors.invalidOption(`invalid MTU ${mtuText ?? options.mtu}: must be 68..65535`);
  }
  optionUpstreams(options.options ?? {});
  optionRouter(options.options ?? {}, overlay, options.internal ?? false);
  return {
    id: randomBytes(32).toString('hex'),
    name: options.name,
    ...addressing,
    internal: options.internal ?? false,
    mtu,
    labels: { ...options.labels },
    options: { ...options.options },
    created: new Date().toISOString(),
    ...(overlay ? { driver: 'overlay' as const } : {}),
  };
}

/** Throws Docker's error unless the container's id and name are valid. */
export function checkContainerSpec(spec: ContainerSpec): void {
  checkContainerBounds(spec);
  if (!CONTAINER_ID_RE.test(spec.id)) {
    throw errors.invalidOption(
      `invalid container id ${JSON.stringify(spec.id)}: expected 64 hex digits`,
    );
  }
  if (!NAME_RE.test(spec.name)) {
    throw errors.invalidOption(`invalid container name ${JSON.stringify(spec.name)}`);
  }
}

/** The aliases of a connect without duplicates; throws on an invalid one. */
export function checkAliases(aliases: readonly string[]): string[] {
  const unique = [...new Set(aliases)];
  for (const alias of unique) {
    if (!ALIAS_RE.test(alias)) throw errors.invalidOption(`invalid alias ${JSON.stringify(alias)}`);
  }
  return unique;
}

/** The endpoint id of a container on a network: stable, derived from both ids. */
export function endpointId(containerId: string, networkId: string): string {
  return createHash('sha256').update(`${containerId}\0${networkId}`).digest('hex');
}

/** A network as `docker network inspect` shows it, with the endpoints given (its ready ones). */
export function renderNetworkInspect(
  n: NetworkRecord,
  endpoints: ReadonlyArray<{ container: ContainerRecord; attachment: AttachmentRecord }>,
): NetworkInspect {
  const containers: Record<string, NetworkEndpointInspect> = {};
  for (const { container: c, attachment: a } of endpoints) {
    containers[c.id] = {
      Name: c.name,
      EndpointID: endpointId(c.id, n.id),
      MacAddress: a.mac,
      IPv4Address: `${a.ip}/${a.prefixLength}`,
      IPv6Address: '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.driver === 'overlay' ? 'swarm' : 'local',
    Driver: n.driver ?? 'bridge',
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: [
        { Subnet: n.subnet, Gateway: n.gateway, ...(n.ipRange ? { IPRange: n.ipRange } : {}) },
      ],
    },
    Internal: n.internal,
    Attachable: n.driver === 'overlay',
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.mtu === 0 ? { ...n.options } : { ...n.options, [MTU_OPTION]: String(n.mtu) },
    Labels: { ...n.labels },
  };
}

/** A network as `docker network inspect` shows it: its ready endpoints with their containers. */
export function inspectNetwork(state: StateStore, n: NetworkRecord): NetworkInspect {
  const endpoints = state.attachmentsOfNetwork(n.id).flatMap((attachment) => {
    const container = state.getContainer(attachment.containerId);
    return attachment.status === 'ready' && container ? [{ container, attachment }] : [];
  });
  return renderNetworkInspect(n, endpoints);
}
