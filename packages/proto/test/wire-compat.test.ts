/**
 * Wire compatibility with the clients in Arca's daemon.
 *
 * The .proto files are loaded with @grpc/proto-loader, as an independent client
 * would, and checked twice: against the contract of ARCA-COMPAT.md written down
 * here as data (names, numbers, types of every original field and the full
 * method paths), and against the generated ts-proto code by round-tripping a
 * fully populated request and response of every RPC through both.
 */
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import {
  DATA_PORT_LIMIT,
  DATA_PORT_MIN,
  FORWARDER_CONTROL_PORT,
  HELPER_CONTROL_PORT,
  helperDataPort,
  isDataPort,
  network,
  tapforwarder,
} from '../src/index.js';

const protoRoot = fileURLToPath(new URL('../../../proto', import.meta.url));
const loaded = protoLoader.loadSync(
  ['arca/network/network.proto', 'arca/tapforwarder/v1/tapforwarder.proto'],
  { includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, defaults: true },
);

/** `name: number type` per field, `[]` marks repeated, `map<k,v>` a map. */
type Contract = Record<string, string[]>;

const networkMessages: Contract = {
  CreateBridgeRequest: ['network_id:1 string', 'subnet:2 string', 'gateway:3 string'],
  CreateBridgeResponse: ['bridge_name:1 string', 'success:2 bool', 'error:3 string'],
  DeleteBridgeRequest: ['network_id:1 string'],
  DeleteBridgeResponse: ['success:1 bool', 'error:2 string'],
  AttachContainerRequest: [
    'container_id:1 string',
    'network_id:2 string',
    'ip_address:3 string',
    'mac_address:4 string',
    'hostname:5 string',
    'aliases:6 string[]',
    'vsock_port:7 uint32',
  ],
  AttachContainerResponse: [
    'port_name:1 string',
    'success:2 bool',
    'error:3 string',
    'ip_address:4 string',
  ],
  DetachContainerRequest: ['container_id:1 string', 'network_id:2 string'],
  DetachContainerResponse: ['success:1 bool', 'error:2 string'],
  ListBridgesRequest: [],
  ListBridgesResponse: ['bridges:1 .arca.network.BridgeInfo[]', 'success:2 bool', 'error:3 string'],
  BridgeInfo: [
    'network_id:1 string',
    'bridge_name:2 string',
    'subnet:3 string',
    'gateway:4 string',
    'containers:5 string[]',
  ],
  SetNetworkPolicyRequest: ['network_id:1 string', 'rules:2 .arca.network.NetworkPolicyRule[]'],
  NetworkPolicyRule: [
    'action:1 .arca.network.NetworkPolicyRule.Action',
    'protocol:2 .arca.network.NetworkPolicyRule.Protocol',
    'source_network:3 string',
    'destination_network:4 string',
    'port:5 uint32',
    'priority:6 uint32',
  ],
  SetNetworkPolicyResponse: ['success:1 bool', 'error:2 string'],
  GetHealthRequest: [],
  GetHealthResponse: [
    'healthy:1 bool',
    'ovs_status:2 string',
    'ovn_status:3 string',
    'uptime_seconds:4 uint64',
  ],
  ResolveDNSRequest: ['hostname:1 string', 'network_ids:2 string[]'],
  ResolveDNSResponse: [
    'found:1 bool',
    'ip_address:2 string',
    'network_id:3 string',
    'error:4 string',
  ],
  GetContainerNetworksRequest: ['container_id:1 string'],
  GetContainerNetworksResponse: ['network_ids:1 string[]', 'error:2 string'],
};

const forwarderMessages: Contract = {
  AttachNetworkRequest: [
    'device:1 string',
    'vsock_port:2 uint32',
    'ip_address:3 string',
    'gateway:4 string',
    'netmask:5 uint32',
    'mac_address:6 string',
  ],
  AttachNetworkResponse: ['success:1 bool', 'error:2 string', 'mac_address:3 string'],
  DetachNetworkRequest: ['device:1 string'],
  DetachNetworkResponse: ['success:1 bool', 'error:2 string'],
  ListNetworksRequest: [],
  ListNetworksResponse: ['networks:1 .arca.tapforwarder.v1.NetworkInfo[]'],
  NetworkInfo: [
    'device:1 string',
    'ip_address:2 string',
    'gateway:3 string',
    'vsock_port:4 uint32',
    'mac_address:5 string',
    'stats:6 .arca.tapforwarder.v1.PacketStats',
  ],
  PacketStats: [
    'packets_sent:1 uint64',
    'packets_received:2 uint64',
    'bytes_sent:3 uint64',
    'bytes_received:4 uint64',
    'send_errors:5 uint64',
    'receive_errors:6 uint64',
  ],
  GetStatusRequest: [],
  GetStatusResponse: [
    'version:1 string',
    'active_networks:2 uint32',
    'uptime_seconds:3 uint64',
    'total_stats:4 .arca.tapforwarder.v1.PacketStats',
  ],
  UpdateDNSMappingsRequest: ['networks:1 map<string,.arca.tapforwarder.v1.NetworkPeers>'],
  NetworkPeers: ['containers:1 .arca.tapforwarder.v1.ContainerDNSInfo[]'],
  ContainerDNSInfo: ['name:1 string', 'id:2 string', 'ip_address:3 string', 'aliases:4 string[]'],
  UpdateDNSMappingsResponse: ['success:1 bool', 'error:2 string', 'records_updated:3 uint32'],
};

const networkRpcs = [
  'CreateBridge',
  'DeleteBridge',
  'AttachContainer',
  'DetachContainer',
  'ListBridges',
  'SetNetworkPolicy',
  'GetHealth',
  'ResolveDNS',
  'GetContainerNetworks',
];
const forwarderRpcs = [
  'AttachNetwork',
  'DetachNetwork',
  'ListNetworks',
  'GetStatus',
  'UpdateDNSMappings',
];

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface MessageDescriptor {
  field: FieldDescriptor[];
  nestedType: MessageDescriptor[];
  name: string;
  options?: { mapEntry?: boolean } | null;
}
interface EnumDescriptor {
  value: { name: string; number: number }[];
}

function messageDescriptor(fullName: string): MessageDescriptor {
  const entry = loaded[fullName] as { type?: MessageDescriptor } | undefined;
  if (!entry?.type) throw new Error(`message ${fullName} not found in the .proto files`);
  return entry.type;
}

/** Top-level enums are in the package definition; nested ones in their message. */
function findEnum(fullName: string): EnumDescriptor | undefined {
  const entry = loaded[fullName] as { type?: EnumDescriptor } | undefined;
  if (entry?.type) return entry.type;
  const parent = fullName.slice(0, fullName.lastIndexOf('.'));
  const name = fullName.slice(fullName.lastIndexOf('.') + 1);
  const message = loaded[parent] as { type?: { enumType?: (EnumDescriptor & { name: string })[] } };
  return message?.type?.enumType?.find((e) => e.name === name);
}

function enumDescriptor(fullName: string): EnumDescriptor {
  const found = findEnum(fullName);
  if (!found) throw new Error(`enum ${fullName} not found in the .proto files`);
  return found;
}

/** Resolves a field's type name (protobufjs gives it relative) to a full name without dot. */
function resolveType(scope: string, typeName: string): string {
  const parts = scope.split('.');
  for (let i = parts.length; i > 0; i--) {
    const candidate = [...parts.slice(0, i), typeName].join('.');
    if (loaded[candidate] || findEnum(candidate)) return candidate;
  }
  throw new Error(`type ${typeName} not found from ${scope}`);
}

/** The map entry type behind a map field, if the field is a map. */
function mapEntry(
  message: MessageDescriptor,
  field: FieldDescriptor,
): MessageDescriptor | undefined {
  if (field.type !== 'TYPE_MESSAGE') return undefined;
  return message.nestedType.find((n) => n.name === field.typeName && n.options?.mapEntry);
}

function describeField(scope: string, message: MessageDescriptor, field: FieldDescriptor): string {
  const scalar = (f: FieldDescriptor) =>
    f.type === 'TYPE_MESSAGE' || f.type === 'TYPE_ENUM'
      ? `.${resolveType(scope, f.typeName)}`
      : f.type.replace('TYPE_', '').toLowerCase();
  const entry = mapEntry(message, field);
  if (entry) {
    const [k, v] = entry.field;
    return `${field.name}:${field.number} map<${scalar(k!)},${scalar(v!)}>`;
  }
  const repeated = field.label === 'LABEL_REPEATED' ? '[]' : '';
  return `${field.name}:${field.number} ${scalar(field)}${repeated}`;
}

function checkContract(pkg: string, contract: Contract): void {
  for (const [message, fields] of Object.entries(contract)) {
    const descriptor = messageDescriptor(`${pkg}.${message}`);
    const actual = descriptor.field
      .filter((f) => f.number < 16)
      .map((f) => describeField(`${pkg}.${message}`, descriptor, f));
    expect(actual, `${pkg}.${message}`).toEqual(fields);
    for (const f of descriptor.field) {
      // Extensions are numbered from 16 up, so old decoders skip them.
      if (!fields.some((spec) => spec.startsWith(`${f.name}:`))) {
        expect(f.number, `${message}.${f.name} is an extension`).toBeGreaterThanOrEqual(16);
      }
    }
  }
}

/** A value for every field (non-default, so a lost field shows up as a difference). */
function sample(fullName: string): Record<string, unknown> {
  const descriptor = messageDescriptor(fullName);
  const out: Record<string, unknown> = {};
  for (const field of descriptor.field) {
    const entry = mapEntry(descriptor, field);
    if (entry) {
      const valueField = entry.field[1]!;
      const value = () => sampleScalar(fullName, valueField);
      out[field.name] = { k1: value(), k2: value() };
      continue;
    }
    const value = () => sampleScalar(fullName, field);
    out[field.name] = field.label === 'LABEL_REPEATED' ? [value(), value()] : value();
  }
  return out;
}

function sampleScalar(scope: string, field: FieldDescriptor): unknown {
  switch (field.type) {
    case 'TYPE_STRING':
      return `${field.name}-${field.number}`;
    case 'TYPE_BOOL':
      return true;
    case 'TYPE_UINT32':
      return 40_000 + field.number;
    case 'TYPE_UINT64':
      return String(2n ** 53n + BigInt(field.number));
    case 'TYPE_ENUM': {
      const values = enumDescriptor(resolveType(scope, field.typeName)).value;
      return values.at(-1)!.name;
    }
    case 'TYPE_MESSAGE':
      return sample(resolveType(scope, field.typeName));
    default:
      throw new Error(`no sample for ${field.type}`);
  }
}

interface LoaderMethod {
  path: string;
  requestSerialize: (value: unknown) => Buffer;
  requestDeserialize: (bytes: Buffer) => unknown;
  responseSerialize: (value: unknown) => Buffer;
  responseDeserialize: (bytes: Buffer) => unknown;
  requestType: { type: MessageDescriptor };
  responseType: { type: MessageDescriptor };
}
interface TsMessage {
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}
interface TsDefinition {
  fullName: string;
  methods: Record<
    string,
    { name: string; requestType: TsMessage; responseType: TsMessage; requestStream: boolean }
  >;
}

function roundTrip(
  serviceFullName: string,
  definition: TsDefinition,
  rpcs: string[],
  pkg: string,
): void {
  const service = loaded[serviceFullName] as unknown as Record<string, LoaderMethod>;
  const tsMethods = Object.values(definition.methods);
  expect(definition.fullName).toBe(serviceFullName);

  for (const rpc of rpcs) {
    const loaderMethod = service[rpc];
    expect(loaderMethod, `${serviceFullName}/${rpc} in the .proto`).toBeDefined();
    expect(loaderMethod!.path).toBe(`/${serviceFullName}/${rpc}`);
    const tsMethod = tsMethods.find((m) => m.name === rpc);
    expect(tsMethod, `${rpc} in the generated code`).toBeDefined();
    expect(`/${definition.fullName}/${tsMethod!.name}`).toBe(loaderMethod!.path);
    expect(tsMethod!.requestStream).toBe(false);

    for (const side of ['request', 'response'] as const) {
      const typeName = (side === 'request' ? loaderMethod!.requestType : loaderMethod!.responseType)
        .type.name;
      const original = sample(`${pkg}.${typeName}`);
      const serialize =
        side === 'request' ? loaderMethod!.requestSerialize : loaderMethod!.responseSerialize;
      const deserialize =
        side === 'request' ? loaderMethod!.requestDeserialize : loaderMethod!.responseDeserialize;
      const tsType = side === 'request' ? tsMethod!.requestType : tsMethod!.responseType;

      const decodedByTs = tsType.decode(serialize(original));
      const reencoded = Buffer.from(tsType.encode(decodedByTs).finish());
      expect(deserialize(reencoded), `${rpc} ${side} survives ts-proto`).toEqual(original);
    }
  }
}

describe('arca.network.NetworkControl (helper VM, vsock 9999)', () => {
  it('keeps every original message field number and type', () => {
    checkContract('arca.network', networkMessages);
  });

  it('keeps the enum values of NetworkPolicyRule', () => {
    const names = (e: string) =>
      enumDescriptor(`arca.network.NetworkPolicyRule.${e}`).value.map(
        (v) => `${v.name}=${v.number}`,
      );
    expect(names('Action')).toEqual(['ALLOW=0', 'DENY=1']);
    expect(names('Protocol')).toEqual(['TCP=0', 'UDP=1', 'ICMP=2', 'ANY=3']);
  });

  it('serves every RPC at its full path and round-trips it through ts-proto', () => {
    roundTrip(
      'arca.network.NetworkControl',
      network.NetworkControlDefinition as unknown as TsDefinition,
      [...networkRpcs, 'PublishPort', 'UnpublishPort', 'GetAttachmentStats'],
      'arca.network',
    );
  });

  it('decodes a message from an old client into the generated types', () => {
    const attach = loaded['arca.network.NetworkControl'] as unknown as Record<string, LoaderMethod>;
    const bytes = attach.AttachContainer!.requestSerialize({
      container_id: 'c0ffee',
      network_id: 'n1',
      mac_address: '02:42:ac:12:00:02',
      aliases: ['web', 'www'],
      vsock_port: 20001,
    });
    expect(network.AttachContainerRequest.decode(bytes)).toMatchObject({
      containerId: 'c0ffee',
      networkId: 'n1',
      macAddress: '02:42:ac:12:00:02',
      aliases: ['web', 'www'],
      vsockPort: 20001,
      ipAddress: '',
    });
  });
});

describe('arca.tapforwarder.v1.TAPForwarder (container VM, vsock 5555)', () => {
  it('keeps every original message field number and type', () => {
    checkContract('arca.tapforwarder.v1', forwarderMessages);
  });

  it('serves every RPC at its full path and round-trips it through ts-proto', () => {
    roundTrip(
      'arca.tapforwarder.v1.TAPForwarder',
      tapforwarder.TAPForwarderDefinition as unknown as TsDefinition,
      forwarderRpcs,
      'arca.tapforwarder.v1',
    );
  });

  it('carries 64-bit counters above 2^53 without loss', () => {
    const big = 2n ** 60n + 7n;
    const bytes = tapforwarder.PacketStats.encode({
      packetsSent: big,
      packetsReceived: 0n,
      bytesSent: 0n,
      bytesReceived: 0n,
      sendErrors: 0n,
      receiveErrors: 0n,
    }).finish();
    const service = loaded['arca.tapforwarder.v1.PacketStats'] as unknown as {
      type: MessageDescriptor;
    };
    expect(service.type.name).toBe('PacketStats');
    expect(tapforwarder.PacketStats.decode(bytes).packetsSent).toBe(big);
  });
});

describe('vsock ports (ARCA-COMPAT: 9999, 5555, P in [20000, 30000), helper on P + 10000)', () => {
  it('exports the contract values', () => {
    expect(HELPER_CONTROL_PORT).toBe(9999);
    expect(FORWARDER_CONTROL_PORT).toBe(5555);
    expect([DATA_PORT_MIN, DATA_PORT_LIMIT]).toEqual([20000, 30000]);
    expect(helperDataPort(20000)).toBe(30000);
    expect(helperDataPort(29999)).toBe(39999);
  });

  it('knows which ports are data ports', () => {
    expect([19999, 20000, 29999, 30000, 20000.5].map(isDataPort)).toEqual([
      false,
      true,
      true,
      false,
      false,
    ]);
  });
});
