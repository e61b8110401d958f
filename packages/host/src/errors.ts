/**
 * The domain errors of the host backend: one table of codes, each with its
 * kind (what the caller did wrong, or what failed) and Docker's wording where
 * Docker has one, so a runtime can hand `message` to `docker` users unchanged.
 */
import { DATA_PORT_LIMIT, DATA_PORT_MIN } from '@arca-net/proto';

/** What an error says about the request, for mapping to HTTP or gRPC status in one place. */
export type ErrorKind =
  | 'invalid' // bad input (HTTP 400, INVALID_ARGUMENT)
  | 'not-found' // unknown object (HTTP 404, NOT_FOUND)
  | 'conflict' // name or address taken (HTTP 409, ALREADY_EXISTS)
  | 'forbidden' // object in a state that refuses the operation (HTTP 403, FAILED_PRECONDITION)
  | 'unavailable' // a VM or its service cannot be reached (HTTP 503, UNAVAILABLE)
  | 'internal'; // a VM-side failure (HTTP 500, INTERNAL)

/** Every error code with its kind. Messages are built by {@link errors}. */
export const errorTable = {
  NETWORK_NAME_EXISTS: 'conflict',
  NETWORK_NOT_FOUND: 'not-found',
  NETWORK_HAS_ENDPOINTS: 'forbidden',
  POOL_OVERLAP: 'forbidden',
  POOLS_EXHAUSTED: 'forbidden',
  EXTERNAL_ADDRESSES_EXHAUSTED: 'forbidden', // like POOLS_EXHAUSTED: retrying as is cannot help
  INVALID_NAME: 'invalid',
  INVALID_SUBNET: 'invalid',
  INVALID_GATEWAY: 'invalid',
  INVALID_IP_RANGE: 'invalid',
  INVALID_IP: 'invalid',
  INVALID_MAC: 'invalid',
  INVALID_OPTION: 'invalid',
  IP_NOT_IN_SUBNET: 'invalid',
  ADDRESS_IN_USE: 'conflict',
  NO_FREE_ADDRESS: 'forbidden',
  ENDPOINT_EXISTS: 'forbidden',
  NOT_CONNECTED: 'forbidden',
  CONTAINER_NOT_FOUND: 'not-found',
  CONTAINER_EXISTS: 'conflict',
  CONTAINER_NOT_RUNNING: 'forbidden',
  PORTS_EXHAUSTED: 'unavailable',
  HELPER_FAILED: 'internal',
  HELPER_UNAVAILABLE: 'unavailable',
  FORWARDER_FAILED: 'internal',
  FORWARDER_UNAVAILABLE: 'unavailable',
  RELAY_FAILED: 'unavailable',
  CLOSED: 'unavailable',
  LAB_UNAVAILABLE: 'unavailable',
  LAB_RUNNING: 'conflict',
  LAB_FAILED: 'internal',
  PLUGIN_NOT_FOUND: 'not-found',
  MULTIPLE_SUBNETS: 'forbidden', // Docker: ForbiddenErrorf
  PREDEFINED_NETWORK: 'forbidden',
  INVALID_FILTER: 'invalid',
  INVALID_PORT_SPEC: 'invalid',
  PORT_ALREADY_ALLOCATED: 'conflict',
  PORT_IN_USE: 'conflict',
  PORT_NOT_PERMITTED: 'forbidden',
  PORT_BIND_FAILED: 'internal',
  PORTS_ON_INTERNAL_NETWORK: 'forbidden',
  NO_PUBLIC_PORT: 'not-found',
  INPUT_TOO_LARGE: 'invalid',
  NORTHD_UNAVAILABLE: 'unavailable', // the helper answers, its ovn-northd does not: retry once it is back
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof errorTable;

/** The one error class the backend throws for domain failures. */
export class NetworkBackendError extends Error {
  override readonly name = 'NetworkBackendError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.kind = errorTable[code];
  }
}

/** True when `err` is a {@link NetworkBackendError}, optionally of one code. */
export function isBackendError(err: unknown, code?: ErrorCode): err is NetworkBackendError {
  return err instanceof NetworkBackendError && (code === undefined || err.code === code);
}

/** Longest message of an error about the request (it may quote what the caller sent). */
const REQUEST_MESSAGE_MAX = 300;

const make = (code: ErrorCode, message: string, cause?: unknown): NetworkBackendError =>
  new NetworkBackendError(
    code,
    errorTable[code] !== 'internal' &&
      errorTable[code] !== 'unavailable' &&
      message.length > REQUEST_MESSAGE_MAX
      ? `${message.slice(0, REQUEST_MESSAGE_MAX)}… (${message.length} characters)`
      : message,
    cause === undefined ? undefined : { cause },
  );

/** Docker's sentence, then what the VM said in parentheses (Docker's wording stays a prefix). */
const withDetail = (wording: string, detail?: string): string =>
  detail === undefined ? wording : `${wording} (${detail})`;

/** Constructors for every code, with Docker's wording where Docker has one. */
export const errors = {
  networkNameExists: (name: string) =>
    make('NETWORK_NAME_EXISTS', `network with name ${name} already exists`),
  networkNotFound: (idOrName: string) => make('NETWORK_NOT_FOUND', `network ${idOrName} not found`),
  networkHasEndpoints: (name: string, id: string) =>
    make(
      'NETWORK_HAS_ENDPOINTS',
      `error while removing network: network ${name} id ${id} has active endpoints`,
    ),
  poolOverlap: (detail?: string, cause?: unknown) =>
    make(
      'POOL_OVERLAP',
      withDetail('Pool overlaps with other one on this address space', detail),
      cause,
    ),
  poolsExhausted: () =>
    make(
      'POOLS_EXHAUSTED',
      'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
    ),
  externalAddressesExhausted: (detail: string, cause?: unknown) =>
    make(
      'EXTERNAL_ADDRESSES_EXHAUSTED',
      withDetail("no free address left in the helper VM's external network", detail),
      cause,
    ),
  invalidName: (name: string, why: string) =>
    make(
      'INVALID_NAME',
      // At most 32 characters of a long name (the rule that follows says what is wrong).
      `invalid network name ${JSON.stringify(name.length > 32 ? `${name.slice(0, 32)}…` : name)}: ${why}`,
    ),
  invalidCidr: (text: string) => make('INVALID_SUBNET', `invalid CIDR address: ${text}`),
  subnetHostBits: (subnet: string, masked: string) =>
    make('INVALID_SUBNET', `invalid subnet ${subnet}: it should be ${masked}`),
  /** A subnet in a range with another meaning (loopback, multicast, link-local, 0/8, broadcast). */
  reservedSubnet: (subnet: string, range: string) =>
    make(
      'INVALID_SUBNET',
      `invalid subnet ${subnet}: it overlaps ${range}, which no network can use`,
    ),
  invalidGateway: (gateway: string, why: string) =>
    make('INVALID_GATEWAY', `invalid gateway ${gateway}: ${why}`),
  invalidIpRange: (range: string, why: string) =>
    make('INVALID_IP_RANGE', `invalid ip-range ${range}: ${why}`),
  invalidIp: (ip: string) => make('INVALID_IP', `invalid IPv4 address: ${ip}`),
  invalidMac: (mac: string, why: string) =>
    make('INVALID_MAC', `invalid MAC address ${mac}: ${why}`),
  invalidOption: (what: string) => make('INVALID_OPTION', what),
  ipNotInSubnet: (ip: string) =>
    make('IP_NOT_IN_SUBNET', `no configured subnet or ip-range contain the IP address ${ip}`),
  addressInUse: (detail?: string, cause?: unknown) =>
    make('ADDRESS_IN_USE', withDetail('Address already in use', detail), cause),
  noFreeAddress: (network: string) =>
    make(
      'NO_FREE_ADDRESS',
      `no available IPv4 addresses on this network's address pools: ${network}`,
    ),
  endpointExists: (container: string, network: string) =>
    make('ENDPOINT_EXISTS', `endpoint with name ${container} already exists in network ${network}`),
  notConnected: (container: string, network: string) =>
    make('NOT_CONNECTED', `container ${container} is not connected to network ${network}`),
  containerNotFound: (idOrName: string) =>
    make('CONTAINER_NOT_FOUND', `No such container: ${idOrName}`),
  containerExists: (name: string, id: string) =>
    make(
      'CONTAINER_EXISTS',
      `Conflict. The container name "/${name}" is already in use by container "${id}"`,
    ),
  containerNotRunning: (idOrName: string) =>
    make('CONTAINER_NOT_RUNNING', `container ${idOrName} is not running`),
  portsExhausted: () =>
    make(
      'PORTS_EXHAUSTED',
      `no free data port in [${DATA_PORT_MIN}, ${DATA_PORT_LIMIT}): too many attachments`,
    ),
  helperFailed: (what: string, cause?: unknown) =>
    make('HELPER_FAILED', `helper VM: ${what}`, cause),
  helperUnavailable: (what: string, cause?: unknown) =>
    make('HELPER_UNAVAILABLE', `helper VM unreachable: ${what}`, cause),
  northdUnavailable: (what: string, cause?: unknown) =>
    make('NORTHD_UNAVAILABLE', `OVN northd is not running in the helper VM (${what})`, cause),
  forwarderFailed: (container: string, what: string, cause?: unknown) =>
    make('FORWARDER_FAILED', `container ${container}: ${what}`, cause),
  forwarderUnavailable: (container: string, what: string, cause?: unknown) =>
    make('FORWARDER_UNAVAILABLE', `container ${container} unreachable: ${what}`, cause),
  relayFailed: (what: string, cause?: unknown) => make('RELAY_FAILED', what, cause),
  closed: () => make('CLOSED', 'network backend is closed'),
  /** The lab (packages/lab) cannot serve: not running, not healthy, or root, a tool or a build missing. */
  labUnavailable: (what: string, cause?: unknown) => make('LAB_UNAVAILABLE', what, cause),
  labRunning: (dir: string) =>
    make(
      'LAB_RUNNING',
      `a lab is already running in ${dir} ('arca-net lab status' shows it, 'arca-net lab down' stops it)`,
    ),
  /** A failure of the lab itself (a tool, a file, a process), not of the request. */
  labFailed: (what: string, cause?: unknown) => make('LAB_FAILED', what, cause),
  pluginNotFound: (driver: string) => make('PLUGIN_NOT_FOUND', `plugin "${driver}" not found`),
  multipleSubnets: () => make('MULTIPLE_SUBNETS', "bridge driver doesn't support multiple subnets"),
  /** Docker's two sentences: creating (or connecting to) one, and removing one. */
  predefinedNetwork: (name: string, removing: boolean) =>
    make(
      'PREDEFINED_NETWORK',
      removing
        ? `${name} is a pre-defined network and cannot be removed`
        : `operation is not permitted on predefined ${name} network`,
    ),
  invalidFilter: (key: string) => make('INVALID_FILTER', `Invalid filter '${key}'`),
  /** A `-p` value or `docker port` filter Docker refuses; `what` is Docker's sentence. */
  invalidPortSpec: (what: string) => make('INVALID_PORT_SPEC', what),
  /** Another published port of this backend has the host address and port. */
  portAlreadyAllocated: (hostIp: string, hostPort: number | string) =>
    make(
      'PORT_ALREADY_ALLOCATED',
      `Bind for ${hostIp}:${hostPort} failed: port is already allocated`,
    ),
  /** Another process of the host listens there (EADDRINUSE). */
  portInUse: (listen: string, cause?: unknown) =>
    make(
      'PORT_IN_USE',
      `Error starting userland proxy: listen ${listen}: bind: address already in use`,
      cause,
    ),
  /** A privileged port without the right to bind it (EACCES). */
  portNotPermitted: (listen: string, cause?: unknown) =>
    make(
      'PORT_NOT_PERMITTED',
      `Error starting userland proxy: listen ${listen}: bind: permission denied`,
      cause,
    ),
  /** Any other failure to listen on the host (an address the host does not have, …). */
  portBindFailed: (listen: string, why: string, cause?: unknown) =>
    make(
      'PORT_BIND_FAILED',
      `Error starting userland proxy: listen ${listen}: bind: ${why}`,
      cause,
    ),
  portsOnInternalNetwork: (network: string) =>
    make(
      'PORTS_ON_INTERNAL_NETWORK',
      `network ${network} is internal: ports cannot be published on an internal network`,
    ),
  /** A string or list over its bound (limits.ts); `what` quotes at most a prefix of it. */
  inputTooLarge: (what: string) => make('INPUT_TOO_LARGE', what),
  noPublicPort: (port: string, container: string) =>
    make('NO_PUBLIC_PORT', `No public port '${port}' published for ${container}`),
};
