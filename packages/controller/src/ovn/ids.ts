/**
 * The `external_ids` keys arca-net puts on every OVN/OVS row it creates.
 * Reconciliation finds our rows by these keys only.
 */
export const ExternalId = {
  /** Docker network id (on every row that belongs to a network). */
  networkId: 'arca-net:network-id',
  /** Docker container id (logical switch ports, OVS interfaces). */
  containerId: 'arca-net:container-id',
  networkName: 'arca-net:network-name',
  subnet: 'arca-net:subnet',
  gateway: 'arca-net:gateway',
  ipRange: 'arca-net:ip-range',
  mtu: 'arca-net:mtu',
  internal: 'arca-net:internal',
  /** JSON object of the user's labels. */
  labels: 'arca-net:labels',
  routerMac: 'arca-net:router-mac',
  /** The network's address on the external network (its SNAT and published-port address); absent without an uplink. */
  externalIp: 'arca-net:external-ip',
  /**
   * What a row is for: 'network', 'router', 'router-port', 'endpoint', 'dhcp', 'dns', 'policy',
   * 'publish', and with an uplink 'external' (the shared switch and its localnet port) and
   * 'external-port' (a router's gateway port and its switch-side peer).
   */
  role: 'arca-net:role',
  hostname: 'arca-net:hostname',
  /** Comma-separated DNS aliases. */
  aliases: 'arca-net:aliases',
  ip: 'arca-net:ip',
  mac: 'arca-net:mac',
  vsockPort: 'arca-net:vsock-port',
  /** Published port: protocol, host port, container port. */
  protocol: 'arca-net:protocol',
  hostPort: 'arca-net:host-port',
  containerPort: 'arca-net:container-port',
  /** Cluster: 'overlay' on a network of the whole cluster (absent: one host's). */
  driver: 'arca-net:driver',
  /** Cluster: the chassis (system-id) whose helper owns a host-local network or an endpoint. */
  chassis: 'arca-net:chassis',
} as const;

/** ovs-docker's interface ids, kept for tools that know them. */
export const OvsDockerId = {
  containerId: 'container_id',
  containerIface: 'container_iface',
} as const;

/** OVN's binding key on OVS interfaces. */
export const IFACE_ID = 'iface-id';
