/**
 * FAKE helper (NetworkControl) and FAKE forwarder (TAPForwarder) gRPC servers
 * for the backend's unit tests: real nice-grpc servers on Unix sockets in a
 * `unixdir:` layout, implementing just enough of each service, recording
 * every call, with failures injectable per method. Data ports are plain Unix
 * socket listeners that keep the last accepted connection.
 */

import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { network, tapforwarder } from '@arca-net/proto';
import { createServer as createGrpcServer, type Server, ServerError, Status } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl } from 'nice-grpc-server-health';

/** A listening data port: the last accepted connection and every frame received. */
export class DataPort {
  readonly server: NetServer;
  current?: Socket;
  accepted = 0;
  received: Buffer[] = [];

  private constructor(server: NetServer) {
    this.server = server;
  }

  static async listen(path: string): Promise<DataPort> {
    rmSync(path, { force: true });
    let port: DataPort | undefined;
    const server = createServer((socket) => {
      if (!port) return;
      port.current?.destroy();
      port.current = socket;
      port.accepted++;
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 4) {
          const len = pending.readUInt32BE(0);
          if (pending.length < 4 + len) break;
          port?.received.push(pending.subarray(4, 4 + len));
          pending = pending.subarray(4 + len);
        }
      });
      socket.on('error', () => undefined);
    });
    port = new DataPort(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return port;
  }

  /** Sends one length-prefixed frame on the current connection. */
  send(frame: Buffer): void {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(frame.length);
    this.current?.write(Buffer.concat([header, frame]));
  }

  close(): void {
    this.current?.destroy();
    this.server.close();
  }
}

type Failures = Map<string, Error>;

function maybeFail(failures: Failures, method: string): void {
  const err = failures.get(method);
  if (err) {
    failures.delete(method);
    throw err;
  }
}

async function serveOn<T>(path: string, add: (server: Server) => T): Promise<Server> {
  rmSync(path, { force: true });
  const server = createGrpcServer();
  add(server);
  server.add(HealthDefinition, HealthServiceImpl());
  await server.listen(`unix://${path}`);
  return server;
}

interface FakeEndpoint {
  containerId: string;
  ip: string;
  mac: string;
  hostname: string;
  aliases: string[];
  port: number;
  data: DataPort;
}

interface FakeBridge {
  request: network.CreateBridgeRequest;
  endpoints: Map<string, FakeEndpoint>;
}

/** The FAKE helper VM: NetworkControl on `${dir}/9999.sock`, relays on `${dir}/${P + 10000}.sock`. */
export class FakeHelper {
  readonly dir: string;
  readonly calls: string[];
  readonly failures: Failures = new Map();
  readonly bridges = new Map<string, FakeBridge>();
  /** When false, AttachContainer does not bind the data listener (simulates a broken relay). */
  bindData = true;
  readonly #hostnames = new Map<string, string>();
  #server?: Server;
  /** What GetHealth answers as uptime; {@link restartInPlace} sets it back to 0. */
  uptimeSeconds = 100;
  /** GetHealth calls answered so far. */
  healthPolls = 0;

  constructor(dir: string, calls: string[]) {
    this.dir = dir;
    this.calls = calls;
    mkdirSync(dir, { recursive: true });
  }

  async start(): Promise<void> {
    const impl: network.NetworkControlServiceImplementation = {
      createBridge: async (req) => {
        this.calls.push(`helper.CreateBridge ${req.name}`);
        maybeFail(this.failures, 'CreateBridge');
        if (!this.bridges.has(req.networkId)) {
          this.bridges.set(req.networkId, { request: req, endpoints: new Map() });
        }
        return {
          bridgeName: 'br-int',
          success: true,
          error: '',
          subnet: req.subnet,
          gateway: req.gateway,
        };
      },
      deleteBridge: async (req) => {
        this.calls.push(`helper.DeleteBridge ${this.nameOf(req.networkId)}`);
        maybeFail(this.failures, 'DeleteBridge');
        const bridge = this.bridges.get(req.networkId);
        if (!bridge) throw new ServerError(Status.NOT_FOUND, `network ${req.networkId} not found`);
        if (bridge.endpoints.size > 0)
          throw new ServerError(Status.FAILED_PRECONDITION, 'has endpoints');
        this.bridges.delete(req.networkId);
        return { success: true, error: '' };
      },
      attachContainer: async (req) => {
        this.#hostnames.set(req.containerId, req.hostname);
        this.calls.push(`helper.AttachContainer ${req.hostname} ${this.nameOf(req.networkId)}`);
        maybeFail(this.failures, 'AttachContainer');
        const bridge = this.bridges.get(req.networkId);
        if (!bridge) throw new ServerError(Status.NOT_FOUND, `network ${req.networkId} not found`);
        const prefix = Number(bridge.request.subnet.split('/')[1]);
        let endpoint = bridge.endpoints.get(req.containerId);
        if (!endpoint) {
          const data = this.bindData
            ? await DataPort.listen(join(this.dir, `${req.vsockPort + 10000}.sock`))
            : undefined;
          endpoint = {
            containerId: req.containerId,
            ip: req.ipAddress,
            mac: req.macAddress,
            hostname: req.hostname,
            aliases: req.aliases,
            port: req.vsockPort,
            data: data as DataPort,
          };
          bridge.endpoints.set(req.containerId, endpoint);
        }
        return {
          portName: `lsp-${req.containerId.slice(0, 6)}`,
          success: true,
          error: '',
          ipAddress: endpoint.ip,
          gateway: bridge.request.gateway,
          prefixLength: prefix,
          dnsServer: bridge.request.gateway,
          macAddress: endpoint.mac,
          mtu: bridge.request.mtu || 1500,
        };
      },
      detachContainer: async (req) => {
        this.calls.push(
          `helper.DetachContainer ${this.hostOf(req.containerId, req.networkId)} ${this.nameOf(req.networkId)}`,
        );
        maybeFail(this.failures, 'DetachContainer');
        const endpoint = this.bridges.get(req.networkId)?.endpoints.get(req.containerId);
        if (!endpoint) throw new ServerError(Status.NOT_FOUND, 'no such attachment');
        endpoint.data?.close();
        this.bridges.get(req.networkId)?.endpoints.delete(req.containerId);
        return { success: true, error: '' };
      },
      listBridges: async () => {
        this.calls.push('helper.ListBridges');
        maybeFail(this.failures, 'ListBridges');
        return {
          success: true,
          error: '',
          bridges: [...this.bridges.entries()].map(([id, b]) => ({
            networkId: id,
            bridgeName: 'br-int',
            subnet: b.request.subnet,
            gateway: b.request.gateway,
            containers: [...b.endpoints.keys()],
            name: b.request.name,
            internal: b.request.internal,
            ipRange: b.request.ipRange,
            mtu: b.request.mtu,
            labels: b.request.labels,
            endpoints: [],
          })),
        };
      },
      setNetworkPolicy: async () => ({ success: true, error: '' }),
      getHealth: async () => {
        maybeFail(this.failures, 'GetHealth');
        this.healthPolls++;
        return {
          healthy: true,
          ovsStatus: 'fake',
          ovnStatus: 'fake',
          uptimeSeconds: BigInt(this.uptimeSeconds),
          chassis: 'fake',
          networks: this.bridges.size,
          attachments: 0,
        };
      },
      resolveDNS: async () => ({ found: false, ipAddress: '', networkId: '', error: '' }),
      getContainerNetworks: async (req) => ({
        networkIds: [...this.bridges.entries()]
          .filter(([, b]) => b.endpoints.has(req.containerId))
          .map(([id]) => id),
        error: '',
        endpoints: [],
      }),
      publishPort: async (req) => {
        this.calls.push(`helper.PublishPort ${req.protocol}/${req.hostPort}`);
        maybeFail(this.failures, 'PublishPort');
        return { success: true, error: '', externalAddress: `198.51.100.2:${req.hostPort}` };
      },
      unpublishPort: async (req) => {
        this.calls.push(`helper.UnpublishPort ${req.protocol}/${req.hostPort}`);
        maybeFail(this.failures, 'UnpublishPort');
        return { success: true, error: '' };
      },
      getAttachmentStats: async () => {
        maybeFail(this.failures, 'GetAttachmentStats');
        return { connections: 0, connected: false };
      },
    };
    this.#server = await serveOn(join(this.dir, '9999.sock'), (s) =>
      s.add(network.NetworkControlDefinition, impl),
    );
  }

  /**
   * A restart too quick for any poll to see the helper down: every network,
   * endpoint and data listener is gone and the uptime starts again from 0.
   */
  restartInPlace(): void {
    for (const b of this.bridges.values()) for (const e of b.endpoints.values()) e.data?.close();
    this.bridges.clear();
    this.uptimeSeconds = 0;
  }

  /** Stops the server and every data listener, forgetting all state (a helper VM that lost its disk). */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = undefined;
    for (const b of this.bridges.values()) for (const e of b.endpoints.values()) e.data?.close();
    this.bridges.clear();
  }

  endpoint(networkId: string, containerId: string): FakeEndpoint | undefined {
    return this.bridges.get(networkId)?.endpoints.get(containerId);
  }

  private nameOf(networkId: string): string {
    return this.bridges.get(networkId)?.request.name ?? networkId;
  }

  private hostOf(containerId: string, _networkId: string): string {
    return this.#hostnames.get(containerId) ?? containerId;
  }
}

interface FakeDevice {
  request: tapforwarder.AttachNetworkRequest;
  data: DataPort;
}

/** A FAKE container VM's forwarder: TAPForwarder on `${dir}/5555.sock`, data ports on `${dir}/${P}.sock`. */
export class FakeForwarder {
  readonly name: string;
  readonly dir: string;
  readonly calls: string[];
  readonly failures: Failures = new Map();
  readonly devices = new Map<string, FakeDevice>();
  readonly dnsSnapshots: tapforwarder.UpdateDNSMappingsRequest[] = [];
  /** The last SetDefaultRoute (undefined: none). */
  defaultRoute: tapforwarder.SetDefaultRouteRequest | undefined;
  #server?: Server;

  constructor(name: string, dir: string, calls: string[]) {
    this.name = name;
    this.dir = dir;
    this.calls = calls;
    mkdirSync(dir, { recursive: true });
  }

  async start(): Promise<void> {
    const impl: tapforwarder.TAPForwarderServiceImplementation = {
      attachNetwork: async (req) => {
        this.calls.push(`${this.name}.AttachNetwork ${req.device}`);
        maybeFail(this.failures, 'AttachNetwork');
        if (!this.devices.has(req.device)) {
          const data = await DataPort.listen(join(this.dir, `${req.vsockPort}.sock`));
          this.devices.set(req.device, { request: req, data });
        }
        return {
          success: true,
          error: '',
          macAddress: req.macAddress,
          ipAddress: req.ipAddress,
          prefixLength: req.netmask,
        };
      },
      detachNetwork: async (req) => {
        this.calls.push(`${this.name}.DetachNetwork ${req.device}`);
        maybeFail(this.failures, 'DetachNetwork');
        const device = this.devices.get(req.device);
        if (!device) throw new ServerError(Status.NOT_FOUND, `no device ${req.device}`);
        device.data.close();
        this.devices.delete(req.device);
        return { success: true, error: '' };
      },
      listNetworks: async () => {
        maybeFail(this.failures, 'ListNetworks');
        return { networks: [] };
      },
      getStatus: async () => {
        maybeFail(this.failures, 'GetStatus');
        return {
          version: 'fake',
          activeNetworks: this.devices.size,
          uptimeSeconds: 0n,
          totalStats: undefined,
          capabilities: [],
        };
      },
      updateDNSMappings: async (req) => {
        this.calls.push(`${this.name}.UpdateDNSMappings`);
        maybeFail(this.failures, 'UpdateDNSMappings');
        this.dnsSnapshots.push(req);
        return { success: true, error: '', recordsUpdated: 0 };
      },
      setDefaultRoute: async (req) => {
        this.calls.push(`${this.name}.SetDefaultRoute ${req.device || 'none'}`);
        maybeFail(this.failures, 'SetDefaultRoute');
        this.defaultRoute = req.device === '' ? undefined : req;
        return { success: true, error: '' };
      },
    };
    this.#server = await serveOn(join(this.dir, '5555.sock'), (s) =>
      s.add(tapforwarder.TAPForwarderDefinition, impl),
    );
  }

  /** The VM stopped: server, devices and listeners go. */
  async stop(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = undefined;
    for (const d of this.devices.values()) d.data.close();
    this.devices.clear();
  }

  /** Names in the last DNS snapshot, per network. */
  lastDns(): Record<string, string[]> {
    const last = this.dnsSnapshots.at(-1);
    const out: Record<string, string[]> = {};
    for (const [name, peers] of Object.entries(last?.networks ?? {})) {
      out[name] = peers.containers.map((c) => `${c.name}=${c.ipAddress}`).sort();
    }
    return out;
  }
}
