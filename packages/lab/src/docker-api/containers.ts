/**
 * Lab containers as Docker's `GET /containers/json` and `GET
 * /containers/{id}/json` describe them: names, state, and the parts of
 * `NetworkSettings` the lab has (each network's endpoint, address, MAC,
 * aliases, and the published ports), so `docker ps`, `docker inspect` and
 * `docker port` show them. Lab containers have no image and no command.
 */
import { endpointId } from '@arca-net/host';
import type { LabContainer } from '../api/routes.js';
import { DockerApiError } from './errors.js';
import { exactly, matches, parseFilters } from './filters.js';
import type { DockerBackend } from './networks.js';
import type { DockerNotes } from './notes.js';

const CONTAINER_FILTERS = ['id', 'name', 'network', 'status', 'label'];
const IMAGE = 'arca-net-lab';

interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string } | null;
  Links: null;
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
}

function networksOf(c: LabContainer, notes: DockerNotes) {
  const networks: Record<string, EndpointSettings> = {};
  for (const a of c.attachments) {
    const note = notes.endpoint(c.id, a.networkId);
    networks[a.networkName] = {
      IPAMConfig: note?.ipamConfig ?? null,
      Links: null,
      Aliases: a.networkName === 'bridge' ? null : [...a.aliases, c.id.slice(0, 12)],
      NetworkID: a.networkId,
      EndpointID: c.state === 'running' ? endpointId(c.id, a.networkId) : '',
      Gateway: c.state === 'running' ? a.gateway : '',
      IPAddress: c.state === 'running' ? a.ip : '',
      IPPrefixLen: c.state === 'running' ? a.prefixLength : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: c.state === 'running' ? a.mac : '',
      DriverOpts: note?.driverOpts ?? null,
    };
  }
  return networks;
}

/** `NetworkSettings.Ports`: `"80/tcp": [{HostIp, HostPort}]`. */
function portMap(c: LabContainer): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of c.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    const list = ports[key] ?? [];
    list.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    ports[key] = list;
  }
  return ports;
}

/** Go's `units.HumanDuration` of the time since `since` (Docker's "Up 5 minutes"). */
export function humanDuration(since: string | undefined, now = Date.now()): string {
  const seconds = Math.floor((now - Date.parse(since ?? '')) / 1000);
  if (!Number.isFinite(seconds) || seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Docker's containers of the lab. */
export class DockerContainers {
  constructor(
    private readonly backend: DockerBackend,
    private readonly notes: DockerNotes,
  ) {}

  async list(query: URLSearchParams): Promise<unknown[]> {
    const filters = parseFilters(query.get('filters'), CONTAINER_FILTERS);
    const all = query.get('all') === '1' || query.get('all') === 'true';
    const containers = await this.backend.listContainers();
    return containers
      .sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))
      .filter(
        (c) =>
          (all || filters.has('status') || c.state === 'running') &&
          matches(filters, 'name', c.name) &&
          (filters.get('id') ?? [c.id]).some((id) => c.id.startsWith(id)) &&
          exactly(filters, 'status', c.state) &&
          (filters.get('label') ?? []).length === 0 &&
          (filters.get('network') ?? []).every((n) =>
            c.attachments.some((a) => a.networkName === n || a.networkId.startsWith(n)),
          ),
      )
      .map((c) => ({
        Id: c.id,
        Names: [`/${c.name}`],
        Image: IMAGE,
        ImageID: '',
        Command: '',
        Created: Math.floor(Date.parse(c.created ?? '') / 1000) || 0,
        Ports: c.ports.map((p) => ({
          IP: p.hostIp,
          PrivatePort: p.containerPort,
          PublicPort: p.hostPort,
          Type: p.protocol,
        })),
        Labels: {},
        State: c.state,
        Status: c.state === 'running' ? `Up ${humanDuration(c.created)}` : 'Exited (0)',
        HostConfig: { NetworkMode: c.attachments[0]?.networkName ?? 'default' },
        NetworkSettings: { Networks: networksOf(c, this.notes) },
        Mounts: [],
      }));
  }

  async inspect(ref: string): Promise<unknown> {
    const c = await this.find(ref);
    const running = c.state === 'running';
    const bridge = c.attachments.find((a) => a.networkName === 'bridge');
    const onBridge = running && bridge !== undefined;
    const ports = portMap(c);
    return {
      Id: c.id,
      Created: c.created ?? '',
      Path: '',
      Args: [],
      State: {
        Status: c.state,
        Running: running,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: c.pid,
        ExitCode: 0,
        Error: '',
        StartedAt: c.created ?? '',
        FinishedAt: '0001-01-01T00:00:00Z',
      },
      Image: IMAGE,
      Name: `/${c.name}`,
      RestartCount: 0,
      Driver: '',
      Platform: 'linux',
      HostConfig: {
        NetworkMode: c.attachments[0]?.networkName ?? 'default',
        PortBindings: ports,
      },
      Config: { Hostname: c.id.slice(0, 12), Image: IMAGE, Labels: {}, ExposedPorts: null },
      NetworkSettings: {
        Bridge: '',
        SandboxID: '',
        HairpinMode: false,
        LinkLocalIPv6Address: '',
        LinkLocalIPv6PrefixLen: 0,
        Ports: running ? ports : {},
        SandboxKey: running ? `/var/run/netns/${c.namespace}` : '',
        SecondaryIPAddresses: null,
        SecondaryIPv6Addresses: null,
        EndpointID: onBridge ? endpointId(c.id, bridge.networkId) : '',
        Gateway: onBridge ? bridge.gateway : '',
        GlobalIPv6Address: '',
        GlobalIPv6PrefixLen: 0,
        IPAddress: onBridge ? bridge.ip : '',
        IPPrefixLen: onBridge ? bridge.prefixLength : 0,
        IPv6Gateway: '',
        MacAddress: onBridge ? bridge.mac : '',
        Networks: networksOf(c, this.notes),
      },
    };
  }

  /** A container by id, name or unique id prefix; Docker's "No such container". */
  async find(ref: string): Promise<LabContainer> {
    try {
      return await this.backend.inspectContainer(ref);
    } catch {
      throw new DockerApiError(404, `No such container: ${ref}`);
    }
  }
}
