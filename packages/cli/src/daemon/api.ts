/**
 * The lab host's local JSON API: what `arca-net` sends over `<lab>/host.sock`
 * and what comes back. One module so the server and the client cannot drift.
 *
 * Routes (all JSON; errors are `{ error: { code, message } }` with a 4xx/5xx status):
 *
 * | method | path | body → result |
 * |---|---|---|
 * | GET | /v1/health | → LabHealth |
 * | GET | /v1/networks | → NetworkView[] |
 * | POST | /v1/networks | CreateNetworkBody → NetworkView |
 * | GET | /v1/networks/:ref | → NetworkView (ref = name, id or id prefix) |
 * | DELETE | /v1/networks/:ref | → NetworkView (the removed one) |
 * | POST | /v1/networks/:ref/connect | ConnectBody → ContainerView |
 * | POST | /v1/networks/:ref/disconnect | DisconnectBody → ContainerView |
 * | GET | /v1/containers | → ContainerView[] |
 * | POST | /v1/containers | RunBody → ContainerView |
 * | GET | /v1/containers/:name | → ContainerView |
 * | DELETE | /v1/containers/:name | → ContainerView (the removed one) |
 * | GET | /v1/containers/:name/stats | → ContainerStats |
 * | POST | /v1/shutdown | → {} (the host stops after answering) |
 */

/** One attachment as `network inspect` shows it (Docker's `Containers` entries). */
export interface EndpointView {
  container: string;
  containerId: string;
  /** "172.18.0.2/16", as Docker prints IPv4Address. */
  ipv4Address: string;
  macAddress: string;
  aliases: string[];
  device: string;
}

/** A network as `network ls` / `network inspect` show it. */
export interface NetworkView {
  id: string;
  name: string;
  driver: string;
  subnet: string;
  gateway: string;
  ipRange?: string;
  internal: boolean;
  labels: Record<string, string>;
  created?: string;
  containers: EndpointView[];
}

/** One network interface of a lab container. */
export interface ContainerNetworkView {
  network: string;
  networkId: string;
  device: string;
  ipAddress: string;
  prefixLength: number;
  gateway: string;
  macAddress: string;
  aliases: string[];
  /** The container-side data port P (the helper side is P + 10000). */
  port?: number;
}

/** A lab container ("container VM" = a namespace running the forwarder). */
export interface ContainerView {
  name: string;
  id: string;
  namespace: string;
  /** The forwarder's pid. */
  pid: number;
  state: 'running' | 'exited';
  /** `unixdir:<lab>/vms/c-<name>`: how the host reaches its vsock ports. */
  endpoint: string;
  networks: ContainerNetworkView[];
}

/** Counters of one relay direction. */
export interface DirectionCounters {
  frames: number;
  bytes: number;
  drops: number;
}

/** Live relay counters of one container, per network. */
export interface ContainerStats {
  name: string;
  networks: {
    network: string;
    device: string;
    port?: number;
    connected: boolean;
    /** Frames from the container towards the switch. */
    fromContainer: DirectionCounters;
    /** Frames from the switch towards the container. */
    toContainer: DirectionCounters;
  }[];
}

/** One component of the lab and its state. */
export interface ComponentHealth {
  name: string;
  healthy: boolean;
  detail: string;
}

export interface LabHealth {
  healthy: boolean;
  components: ComponentHealth[];
}

export interface CreateNetworkBody {
  name: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
}

export interface ConnectBody {
  container: string;
  ip?: string;
  aliases?: string[];
}

export interface DisconnectBody {
  container: string;
}

export interface RunBody {
  name: string;
  /** Network to connect to at start; the lab's default network when absent. */
  network?: string;
  ip?: string;
  aliases?: string[];
}

/** Error kinds of the API, each with its HTTP status. */
export const ApiErrorStatus = {
  invalid: 400,
  notFound: 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
} as const;

export type ApiErrorCode = keyof typeof ApiErrorStatus;

/** An error the lab host reports to the CLI: one line, one kind. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Body of every error response. */
export interface ErrorBody {
  error: { code: ApiErrorCode; message: string };
}
