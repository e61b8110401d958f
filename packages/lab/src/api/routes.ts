/**
 * The lab host's local JSON API over `<lab>/host.sock`: one table of routes
 * that the server (server.ts) dispatches from and the client (client.ts)
 * builds requests from, so the two cannot drift. Networks and attachments
 * are `@arca-net/host`'s own types; errors are the host's errors, carried
 * with their `code` and `kind` unchanged.
 *
 * | method | path | body → result |
 * |---|---|---|
 * | GET | /v1/health | → LabHealth |
 * | GET | /v1/networks | → NetworkInspect[] |
 * | POST | /v1/networks | CreateNetworkOptions → NetworkInspect |
 * | GET | /v1/networks/:ref | → NetworkInspect (ref = name, id or id prefix) |
 * | DELETE | /v1/networks/:ref | → nothing (204) |
 * | POST | /v1/networks/:network/connect | ConnectBody → LabContainer |
 * | POST | /v1/networks/:network/disconnect | DisconnectBody → LabContainer |
 * | GET | /v1/containers | → LabContainer[] |
 * | POST | /v1/containers | RunBody → LabContainer |
 * | GET | /v1/containers/:ref | → LabContainer |
 * | GET | /v1/containers/:ref/stats | → LabContainer with each attachment's `drops` (`lab stats`) |
 * | DELETE | /v1/containers/:ref | → LabContainer (the removed one, state exited) |
 * | POST | /v1/containers/:ref/stop | → LabContainer (state exited) |
 * | POST | /v1/containers/:ref/start | → LabContainer |
 * | POST | /v1/containers/:ref/restart | → LabContainer |
 * | POST | /v1/networks/prune | PruneBody → PruneResult |
 * | GET | /v1/containers/:ref/ports | → PublishedPort[] (`docker port NAME`) |
 * | GET | /v1/containers/:ref/ports/:port | → PublishedPort[] (`docker port NAME 80/tcp`; NO_PUBLIC_PORT when none) |
 * | POST | /v1/shutdown | → nothing (204; the host stops after answering) |
 *
 * An error is `{ "error": { "code": "NETWORK_NOT_FOUND", "kind": "not-found",
 * "message": "network x not found" } }` with the status of its kind
 * ({@link STATUS_OF_KIND}).
 */
import {
  type AttachmentInfo,
  type ConnectOptions,
  type CreateNetworkOptions,
  type ErrorCode,
  type ErrorKind,
  errors,
  errorTable,
  isBackendError,
  NetworkBackendError,
  type NetworkInspect,
  type OffloadPreference,
  type PublishedPort,
  quote,
} from '@arca-net/host';

/** A lab container ("container VM" = a namespace running the forwarder). */
export interface LabContainer {
  name: string;
  /** 64 hex digits, as Docker's. */
  id: string;
  namespace: string;
  /** The forwarder's pid (0 when it is not running). */
  pid: number;
  state: 'running' | 'exited';
  /** `unixdir:<lab>/vms/c-<name>`: how the host reaches its vsock ports. */
  endpoint: string;
  /** One per network, in the host's shape (with the host relay's counters). */
  attachments: AttachmentInfo[];
  /** Its published ports (those of every attachment), as `docker ps` shows them. */
  ports: PublishedPort[];
  /** When `lab run` made it (ISO 8601). */
  created?: string;
}

/** One component of the lab and its state. */
export interface ComponentHealth {
  name: string;
  healthy: boolean;
  detail: string;
}

/** The lab host's health, component by component. */
export interface LabHealth {
  healthy: boolean;
  components: ComponentHealth[];
}

/** `network connect`: which container, and the host's connect options. */
export interface ConnectBody extends ConnectOptions {
  container: string;
}

/** `network disconnect`: which container. */
export interface DisconnectBody {
  container: string;
}

/** `network prune`: only networks with every one of these labels (`k` or `k=v`). */
export interface PruneBody {
  labels?: string[];
}

/** `network prune`: the names of the networks removed. */
export interface PruneResult {
  deleted: string[];
}

/** `lab run`: a new container, connected to one network. */
export interface RunBody {
  name: string;
  /** Network to connect to at start; the lab's default network when absent. */
  network?: string;
  ip?: string;
  aliases?: string[];
  /** `-p` values in Docker's syntax (`[hostIP:][hostPort:]containerPort[/proto]`). */
  publish?: string[];
  /** Offload framing of the attachment: 'auto', 'on' or 'off' (default: the lab's). */
  offload?: OffloadPreference;
}

/** Everything the lab host does, as the server serves it and the client calls it. */
export interface LabApi {
  health(): Promise<LabHealth>;
  listNetworks(): Promise<NetworkInspect[]>;
  createNetwork(body: CreateNetworkOptions): Promise<NetworkInspect>;
  inspectNetwork(ref: string): Promise<NetworkInspect>;
  removeNetwork(ref: string): Promise<void>;
  connect(network: string, body: ConnectBody): Promise<LabContainer>;
  disconnect(network: string, body: DisconnectBody): Promise<LabContainer>;
  listContainers(): Promise<LabContainer[]>;
  runContainer(body: RunBody): Promise<LabContainer>;
  inspectContainer(ref: string): Promise<LabContainer>;
  /** `lab stats`: the container with each attachment's drops by place (asks both VMs). */
  containerStats(ref: string): Promise<LabContainer>;
  removeContainer(ref: string): Promise<LabContainer>;
  /** `lab stop`: the VM stand-in goes away; addresses and MACs are kept. */
  stopContainer(ref: string): Promise<LabContainer>;
  /** `lab start`: the VM stand-in comes back with the same addresses and MACs. */
  startContainer(ref: string): Promise<LabContainer>;
  restartContainer(ref: string): Promise<LabContainer>;
  /** Removes every network without endpoints (and with the labels given), but the predefined. */
  pruneNetworks(body: PruneBody): Promise<PruneResult>;
  /** A container's published ports, all or those of one container port (`PORT[/PROTO]`). */
  containerPorts(ref: string): Promise<PublishedPort[]>;
  containerPort(ref: string, port: string): Promise<PublishedPort[]>;
  /** Stops the lab host once it has answered. */
  shutdown(): Promise<void>;
}

/**
 * One route. A call's arguments are the path's `:parameters` in order,
 * followed by the JSON body when `body` is set.
 */
export interface LabRoute {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: true;
}

/** Every route of the API, by the {@link LabApi} method it carries. */
export const LAB_ROUTES = {
  health: { method: 'GET', path: '/v1/health' },
  listNetworks: { method: 'GET', path: '/v1/networks' },
  createNetwork: { method: 'POST', path: '/v1/networks', body: true },
  inspectNetwork: { method: 'GET', path: '/v1/networks/:ref' },
  removeNetwork: { method: 'DELETE', path: '/v1/networks/:ref' },
  connect: { method: 'POST', path: '/v1/networks/:network/connect', body: true },
  disconnect: { method: 'POST', path: '/v1/networks/:network/disconnect', body: true },
  listContainers: { method: 'GET', path: '/v1/containers' },
  runContainer: { method: 'POST', path: '/v1/containers', body: true },
  inspectContainer: { method: 'GET', path: '/v1/containers/:ref' },
  containerStats: { method: 'GET', path: '/v1/containers/:ref/stats' },
  removeContainer: { method: 'DELETE', path: '/v1/containers/:ref' },
  stopContainer: { method: 'POST', path: '/v1/containers/:ref/stop' },
  startContainer: { method: 'POST', path: '/v1/containers/:ref/start' },
  restartContainer: { method: 'POST', path: '/v1/containers/:ref/restart' },
  pruneNetworks: { method: 'POST', path: '/v1/networks/prune', body: true },
  containerPorts: { method: 'GET', path: '/v1/containers/:ref/ports' },
  containerPort: { method: 'GET', path: '/v1/containers/:ref/ports/:port' },
  shutdown: { method: 'POST', path: '/v1/shutdown' },
} as const satisfies Record<keyof LabApi, LabRoute>;

const segments = (path: string): string[] => path.split('/').slice(1);

/** The request path and body of a call of `route` with `args`. */
export function requestOf(
  route: LabRoute,
  args: readonly unknown[],
): { path: string; body: unknown } {
  let next = 0;
  const path = segments(route.path)
    .map((segment) =>
      segment.startsWith(':') ? encodeURIComponent(String(args[next++])) : segment,
    )
    .join('/');
  return { path: `/${path}`, body: route.body ? args[next] : undefined };
}

/** A path segment's text; a malformed `%` escape is the caller's error (400), not ours. */
function decodePathSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw errors.invalidOption(`malformed escape in the path segment ${quote(value)}`);
  }
}

/** The call's arguments when `path` is a path of `route`, else undefined. */
export function argumentsOf(route: LabRoute, path: string, body: unknown): unknown[] | undefined {
  const pattern = segments(route.path);
  const actual = segments(path);
  if (pattern.length !== actual.length) return undefined;
  const args: unknown[] = [];
  for (const [index, segment] of pattern.entries()) {
    const value = actual[index] ?? '';
    if (segment.startsWith(':')) args.push(decodePathSegment(value));
    else if (segment !== value) return undefined;
  }
  if (route.body) args.push(body);
  return args;
}

/** The HTTP status of each error kind: the one place where kinds become statuses. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  'not-found': 404,
  conflict: 409,
  forbidden: 403,
  unavailable: 503,
  internal: 500,
};

/** Body of every error response: the host's error, as it is. */
export interface ErrorBody {
  error: { code: ErrorCode; kind: ErrorKind; message: string };
}

/** Any failure as the host's error: a `NetworkBackendError` as it is, anything else LAB_FAILED. */
export function asBackendError(error: unknown): NetworkBackendError {
  if (isBackendError(error)) return error;
  return errors.labFailed(error instanceof Error ? error.message : String(error), error);
}

/** The error response of `error`: its status and body. */
export function errorResponse(error: NetworkBackendError): { status: number; body: ErrorBody } {
  return {
    status: STATUS_OF_KIND[error.kind],
    body: { error: { code: error.code, kind: error.kind, message: error.message } },
  };
}

/** The cause of an error rebuilt from the lab host's answer: which request got which status. */
export class LabHostAnswer extends Error {
  override readonly name = 'LabHostAnswer';

  constructor(
    readonly request: string,
    readonly status: number,
  ) {
    super(`the lab host answered ${request} with ${status}`);
  }
}

/** The host's error that an error response carries (LAB_FAILED when the body is not one). */
export function errorFromResponse(
  request: string,
  status: number,
  body: unknown,
): NetworkBackendError {
  const cause = new LabHostAnswer(request, status);
  const error = (body as Partial<ErrorBody> | null)?.error;
  if (error && typeof error.code === 'string' && Object.hasOwn(errorTable, error.code)) {
    return new NetworkBackendError(error.code as ErrorCode, String(error.message), { cause });
  }
  return errors.labFailed(`the lab host answered ${request} with ${status}`, cause);
}

/** True for an error the lab host answered with (rebuilt by the client), false for a local one. */
export function answeredByLabHost(error: unknown): boolean {
  return isBackendError(error) && error.cause instanceof LabHostAnswer;
}
