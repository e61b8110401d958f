/**
 * Plain data the OVN driver writes and reads back: what one network, one
 * attachment, one published port and one policy rule look like in OVN.
 * Values are already validated; the driver trusts them.
 */

/** A network as stored on its logical switch. */
export interface NetworkRecord {
  networkId: string;
  /** User-visible name ('' when the client sent none). */
  name: string;
  /** Canonical CIDR, e.g. "172.18.0.0/16". */
  subnet: string;
  gateway: string;
  /** Canonical CIDR inside `subnet`, or '' for the whole subnet. */
  ipRange: string;
  /** `exclude_ips` value: the gateway and what lies outside `ipRange`. */
  excludeIps: string;
  mtu: number;
  internal: boolean;
  labels: Record<string, string>;
  /** MAC of the router port that owns the gateway IP. */
  routerMac: string;
  /**
   * The network's address on the external network (SNAT source of its egress,
   * address of its published ports); absent without an uplink and on internal networks.
   */
  externalIp?: string;
  /** Cluster: 'overlay' for a network of the whole cluster. */
  driver?: 'overlay';
  /** Cluster: the chassis whose helper owns this host-local network (absent: every helper's, one host). */
  chassis?: string;
  /** Overlay: the router group it is routed in (`arca-net.router`, transit.ts); absent: isolated. */
  router?: string;
}

/** The outside world as the helper's uplink reaches it. */
export interface UplinkRecord {
  /** Canonical CIDR of the external network, e.g. "198.51.100.0/24". */
  cidr: string;
  /** Next hop of every network's default route. */
  gateway: string;
  /** The chassis that hosts every network's gateway port (this helper). */
  chassis: string;
}

/** One container interface on one network. */
export interface EndpointRecord {
  networkId: string;
  containerId: string;
  /** Logical switch port name = TAP name on br-int. */
  portName: string;
  ip: string;
  mac: string;
  hostname: string;
  aliases: string[];
  vsockPort: number;
  /** Cluster: the chassis whose helper binds this port (absent: one host). */
  chassis?: string;
  /** Offload framing on its data stream (TAP with TSO, virtio-net headers); absent: plain. */
  offload?: boolean;
}

/** A port published through the network's router. */
export interface PublishedPortRecord {
  networkId: string;
  containerId: string;
  protocol: 'tcp' | 'udp';
  hostPort: number;
  containerPort: number;
  /** VIP "ip:port" and backend "ip:port". */
  vip: string;
  backend: string;
}

/** One OVN ACL derived from a NetworkPolicyRule. */
export interface AclRecord {
  /** OVN priority 0..32767. */
  priority: number;
  /** OVN match expression (built from validated numbers and CIDRs only). */
  match: string;
  action: 'allow-related' | 'drop';
}

/** Everything of ours found in the NB database. */
export interface OvnState {
  networks: NetworkRecord[];
  endpoints: EndpointRecord[];
  published: PublishedPortRecord[];
  /** network id → DNS records (name → IP). */
  dns: Map<string, Map<string, string>>;
  /** Rows that carry our ids but belong to no complete network (removed on start). */
  orphans: OrphanRow[];
}

/** A row to remove during reconciliation. */
export interface OrphanRow {
  table: string;
  uuid: string;
  why: string;
}
