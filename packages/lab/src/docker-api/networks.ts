/**
 * Docker's network endpoints over the lab host's service: `GET /networks`
 * (filters), `GET /networks/{id}`, `POST /networks/create`, `DELETE
 * /networks/{id}`, `POST /networks/{id}/connect|disconnect`, `POST
 * /networks/prune`. Networks are the host's `NetworkInspect` (already
 * Docker's shape); `host` and `none` are Docker's two driver-less predefined
 * networks, shown read-only.
 */
import { createHash } from 'node:crypto';
import { type CreateNetworkOptions, isBackendError, type NetworkInspect } from '@arca-net/host';
import type { LabApi } from '../api/routes.js';
import { PREDEFINED_NETWORKS } from '../host/service.js';
import { bool, decodeBody, type Shape, str, stringList, stringMap } from './decode.js';
import { DockerApiError, forbidden } from './errors.js';
import {
  booleanFilter,
  exactly,
  type Filters,
  labelsMatch,
  matches,
  parseFilters,
} from './filters.js';
import type { DockerNotes, NetworkNote } from './notes.js';

/** What the Docker API uses of the lab host's service. */
export type DockerBackend = Pick<
  LabApi,
  | 'listNetworks'
  | 'createNetwork'
  | 'inspectNetwork'
  | 'removeNetwork'
  | 'connect'
  | 'disconnect'
  | 'listContainers'
  | 'inspectContainer'
> & {
  /** The predefined `bridge` network exists (made on first use, as `lab run` does). */
  ensureDefaultNetwork(): Promise<string>;
};

const IPAM_CONFIG: Shape = {
  kind: 'struct',
  go: 'network.IPAMConfig',
  fields: { Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: stringMap },
};

const CREATE: Shape & { kind: 'struct' } = {
  kind: 'struct',
  go: 'types.NetworkCreateRequest',
  fields: {
    Name: str,
    CheckDuplicate: bool,
    Driver: str,
    Scope: str,
    EnableIPv6: bool,
    IPAM: {
      kind: 'struct',
      go: 'network.IPAM',
      fields: {
        Driver: str,
        Options: stringMap,
        Config: { kind: 'array', go: '[]network.IPAMConfig', item: IPAM_CONFIG },
      },
    },
    Internal: bool,
    Attachable: bool,
    Ingress: bool,
    ConfigOnly: bool,
    ConfigFrom: { kind: 'struct', go: 'network.ConfigReference', fields: { Network: str } },
    Options: stringMap,
    Labels: stringMap,
  },
};

interface CreateRequest {
  Name?: string;
  Driver?: string;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Config?: Array<{
      Subnet?: string;
      IPRange?: string;
      Gateway?: string;
      AuxiliaryAddresses?: Record<string, string>;
    }>;
  };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

const ENDPOINT: Shape = {
  kind: 'struct',
  go: 'network.EndpointSettings',
  fields: {
    IPAMConfig: {
      kind: 'struct',
      go: 'network.EndpointIPAMConfig',
      fields: { IPv4Address: str, IPv6Address: str, LinkLocalIPs: stringList },
    },
    Links: stringList,
    Aliases: stringList,
    NetworkID: str,
    EndpointID: str,
    Gateway: str,
    IPAddress: str,
    MacAddress: str,
    DriverOpts: stringMap,
  },
};

const CONNECT: Shape & { kind: 'struct' } = {
  kind: 'struct',
  go: 'types.NetworkConnect',
  fields: { Container: str, EndpointConfig: ENDPOINT },
};

const DISCONNECT: Shape & { kind: 'struct' } = {
  kind: 'struct',
  go: 'types.NetworkDisconnect',
  fields: { Container: str, Force: bool },
};

interface ConnectRequest {
  Container?: string;
  EndpointConfig?: {
    IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
    Links?: string[];
    Aliases?: string[];
    MacAddress?: string;
    DriverOpts?: Record<string, string>;
  };
}

export const NETWORK_FILTERS = ['driver', 'id', 'label', 'name', 'scope', 'type', 'dangling'];
const PRUNE_FILTERS = ['label', 'label!', 'until'];

/** Docker's networks of the lab: the host's, plus `host` and `none`. */
export class DockerNetworks {
  readonly #started = new Date().toISOString();
  constructor(
    private readonly backend: DockerBackend,
    private readonly labDir: string,
    private readonly notes: DockerNotes,
  ) {}

  /** `host` and `none` as Docker shows them; ids stable per lab directory. */
  builtins(): NetworkInspect[] {
    return [
      ['host', 'host'],
      ['none', 'null'],
    ].map(([name = '', driver = '']) => ({
      Name: name,
      Id: createHash('sha256').update(`${this.labDir}\0${name}`).digest('hex'),
      Created: this.#started,
      Scope: 'local',
      Driver: driver as 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: null as unknown as Record<string, string>, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: {},
      Options: {},
      Labels: {},
    }));
  }

  /** Every network, with `bridge`, `host` and `none` always there. */
  async all(): Promise<NetworkInspect[]> {
    await this.backend.ensureDefaultNetwork();
    const networks = await this.backend.listNetworks();
    return [...networks.map((n) => dockerShape(n, this.notes.network(n.Id))), ...this.builtins()];
  }

  /**
   * Docker's lookup: full id, then exact name, then a unique id prefix. An
   * ambiguous prefix has two wordings in Docker: the inspect route's (`GET`)
   * and the daemon's (every other operation).
   */
  async find(term: string, inspecting = false): Promise<NetworkInspect> {
    const networks = await this.all();
    const byId = networks.find((n) => n.Id === term);
    if (byId) return byId;
    const byName = networks.filter((n) => n.Name === term);
    if (byName.length === 1 && byName[0]) return byName[0];
    const byPrefix = term === '' ? [] : networks.filter((n) => n.Id.startsWith(term));
    if (byPrefix.length === 1 && byPrefix[0]) return byPrefix[0];
    if (byPrefix.length > 1 && inspecting) {
      throw new DockerApiError(
        400,
        `${byPrefix.length} matches found based on ID prefix: network ${term} is ambiguous`,
      );
    }
    if (byPrefix.length > 1) {
      throw new DockerApiError(
        400,
        `network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`,
      );
    }
    throw new DockerApiError(404, `network ${term} not found`);
  }

  async list(query: URLSearchParams): Promise<NetworkInspect[]> {
    const filters = parseFilters(query.get('filters'), NETWORK_FILTERS);
    for (const type of filters.get('type') ?? []) {
      if (type !== 'custom' && type !== 'builtin') {
        throw new DockerApiError(500, `invalid filter: 'type'='${type}'`);
      }
    }
    const dangling = booleanFilter(filters, 'dangling');
    return (await this.all())
      .filter((n) => {
        const builtin = PREDEFINED_NETWORKS.includes(n.Name);
        const used = Object.keys(n.Containers).length > 0;
        return (
          matches(filters, 'name', n.Name) &&
          matches(filters, 'id', n.Id) &&
          labelsMatch(filters, 'label', n.Labels) &&
          exactly(filters, 'driver', n.Driver) &&
          exactly(filters, 'scope', n.Scope) &&
          exactly(filters, 'type', builtin ? 'builtin' : 'custom') &&
          (dangling === undefined || dangling === (!builtin && !used))
        );
      })
      .map(listShape);
  }

  inspect(term: string): Promise<NetworkInspect> {
    return this.find(term, true);
  }

  async create(body: Buffer): Promise<{ Id: string; Warning: string }> {
    const request = decodeBody<CreateRequest>(body, CREATE);
    const name = request.Name ?? '';
    if (name === '') throw new DockerApiError(500, 'invalid name: ');
    if (PREDEFINED_NETWORKS.includes(name)) {
      throw forbidden(`operation is not permitted on predefined ${name} network `);
    }
    const driver = request.Driver ?? '';
    if (driver === 'host' || driver === 'null') {
      throw forbidden(`only one instance of "${driver}" network is allowed`);
    }
    if (request.EnableIPv6) {
      throw new DockerApiError(
        404,
        'could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network',
      );
    }
    const config = request.IPAM?.Config ?? [];
    const first = config[0];
    const options: CreateNetworkOptions = { name };
    if (driver !== '') options.driver = driver;
    if (config.length > 1) options.subnets = config.map((c) => c.Subnet ?? '');
    if (first?.Subnet) options.subnet = first.Subnet;
    if (first?.Gateway) options.gateway = first.Gateway;
    if (first?.IPRange) options.ipRange = first.IPRange;
    if (request.Internal) options.internal = true;
    if (request.Labels) options.labels = request.Labels;
    if (request.Options) options.options = request.Options;
    const created = await this.backend.createNetwork(options).catch((error: unknown) => {
      // Docker names the flag's value first: "Invalid subnet X : invalid CIDR address: X".
      if (isBackendError(error, 'INVALID_SUBNET') && error.message.startsWith('invalid CIDR')) {
        throw new DockerApiError(400, `Invalid subnet ${options.subnet ?? ''} : ${error.message}`);
      }
      throw error;
    });
    this.notes.setNetwork(created.Id, {
      userSubnet: options.subnet !== undefined,
      userGateway: options.gateway !== undefined,
    });
    return { Id: created.Id, Warning: '' };
  }

  async remove(term: string): Promise<void> {
    const n = await this.find(term);
    if (PREDEFINED_NETWORKS.includes(n.Name)) {
      throw forbidden(`${n.Name} is a pre-defined network and cannot be removed`);
    }
    await this.backend.removeNetwork(n.Id);
    this.notes.setNetwork(n.Id, undefined);
  }

  async connect(term: string, body: Buffer): Promise<void> {
    const request = decodeBody<ConnectRequest>(body, CONNECT);
    const n = await this.find(term);
    const container = await this.backend.inspectContainer(request.Container ?? '');
    const endpoint = request.EndpointConfig ?? {};
    const ip = endpoint.IPAMConfig?.IPv4Address;
    if (n.Name === 'host' || n.Name === 'none') {
      throw new DockerApiError(
        400,
        'container cannot be disconnected from host network or connected to host network',
      );
    }
    if (ip && this.notes.network(n.Id)?.userSubnet === false) {
      throw new DockerApiError(
        400,
        'user specified IP address is supported only when connecting to networks with user configured subnets',
      );
    }
    if (n.Name === 'bridge' && ip) {
      throw new DockerApiError(
        400,
        'user specified IP address is supported on user defined networks only',
      );
    }
    if (n.Name === 'bridge' && (endpoint.Aliases?.length ?? 0) > 0) {
      throw new DockerApiError(
        400,
        'network-scoped alias is supported only for containers in user defined networks',
      );
    }
    await this.backend
      .connect(n.Id, {
        container: container.id,
        ...(ip ? { ip } : {}),
        ...(endpoint.Aliases?.length ? { aliases: endpoint.Aliases } : {}),
        ...(endpoint.MacAddress ? { mac: endpoint.MacAddress } : {}),
      })
      .catch((error: unknown) => {
        // Docker's sentences for a static address (libnetwork's and the daemon's).
        if (isBackendError(error, 'IP_NOT_IN_SUBNET')) {
          throw new DockerApiError(
            400,
            `Invalid address ${ip}: It does not belong to any of this network's subnets`,
          );
        }
        if (isBackendError(error, 'INVALID_IP')) {
          throw new DockerApiError(400, `Invalid IPv4 address: ${ip})`);
        }
        throw error;
      });
    this.notes.setEndpoint(container.id, n.Id, {
      ...(endpoint.IPAMConfig ? { ipamConfig: ip ? { IPv4Address: ip } : {} } : {}),
      ...(endpoint.DriverOpts ? { driverOpts: endpoint.DriverOpts } : {}),
    });
  }

  async disconnect(term: string, body: Buffer): Promise<void> {
    const request = decodeBody<{ Container?: string; Force?: boolean }>(body, DISCONNECT);
    const n = await this.find(term);
    const container = await this.backend.inspectContainer(request.Container ?? '');
    if (n.Name === 'host' || n.Name === 'none') {
      throw new DockerApiError(
        400,
        'container cannot be disconnected from host network or connected to host network',
      );
    }
    await this.backend.disconnect(n.Id, { container: container.id }).catch((error: unknown) => {
      // Docker names the container by its id here.
      if (isBackendError(error, 'NOT_CONNECTED')) {
        throw forbidden(`container ${container.id} is not connected to network ${n.Name}`);
      }
      throw error;
    });
    this.notes.setEndpoint(container.id, n.Id, undefined);
  }

  /** Removes every unused user network (with the labels asked); Docker's `NetworksDeleted`. */
  async prune(query: URLSearchParams): Promise<{ NetworksDeleted: string[] | null }> {
    const filters = parseFilters(query.get('filters'), PRUNE_FILTERS);
    const until = filters.get('until')?.[0];
    const limit = until === undefined ? undefined : untilTime(until);
    const deleted: string[] = [];
    for (const n of await this.all()) {
      if (PREDEFINED_NETWORKS.includes(n.Name) || Object.keys(n.Containers).length > 0) continue;
      if (!labelsMatch(filters, 'label', n.Labels)) continue;
      if (
        (filters.get('label!') ?? []).some((term) =>
          labelsMatch(new Map([['l', [term]]]), 'l', n.Labels),
        )
      )
        continue;
      if (limit !== undefined && Date.parse(n.Created) >= limit) continue;
      try {
        await this.backend.removeNetwork(n.Id);
        this.notes.setNetwork(n.Id, undefined);
        deleted.push(n.Name);
      } catch {
        // A stopped container's endpoint keeps it, as Docker's prune skips networks in use.
      }
    }
    return { NetworksDeleted: deleted.length > 0 ? deleted : null };
  }
}

/** `until`: a Unix time, an RFC 3339 date or a Go duration before now (`24h`, `10m`). */
function untilTime(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const duration = /^(\d+)(h|m|s)$/.exec(text);
  if (duration) {
    const unit = { h: 3_600_000, m: 60_000, s: 1000 }[duration[2] as 'h' | 'm' | 's'];
    return Date.now() - Number(duration[1]) * unit;
  }
  const date = Date.parse(text);
  if (Number.isNaN(date))
    throw new DockerApiError(400, `failed to parse value as time or duration: "${text}"`);
  return date;
}

/**
 * The host's inspect as Docker 20.10 sends it: `IPAM.Config` keys in Docker's
 * order, `IPAM.Options` null on the predefined bridge (the CLI's networks have {}).
 */
function dockerShape(n: NetworkInspect, note: NetworkNote | undefined): NetworkInspect {
  // Docker shows a gateway it chose only when it chose the subnet too.
  // The predefined bridge's subnet is the lab's own choice of Docker's --bip default: no gateway shown.
  const showGateway =
    n.Name !== 'bridge' && (note === undefined || note.userGateway || !note.userSubnet);
  const config = n.IPAM.Config.map((c) => ({
    Subnet: c.Subnet,
    ...(c.IPRange ? { IPRange: c.IPRange } : {}),
    ...(showGateway ? { Gateway: c.Gateway } : {}),
  }));
  const options =
    n.Name === 'bridge' ? (null as unknown as Record<string, string>) : n.IPAM.Options;
  return {
    ...n,
    IPAM: { ...n.IPAM, Options: options, Config: config as NetworkInspect['IPAM']['Config'] },
  };
}

/** `GET /networks` leaves the endpoints out (API ≥ 1.28). */
function listShape(n: NetworkInspect): NetworkInspect {
  return { ...n, Containers: {} };
}

export type { Filters };
