/**
 * NetworkControl over gRPC with the real domain and CLI driver, on a FAKE
 * tool runner (no OVS/OVN here): it answers reads with empty tables, records
 * every call, and fails a call like a real tool when a test asks it to.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { network } from '@arca-net/proto';
import { emptyTapLinkStats } from '@arca-net/vsock';
import { Status } from 'nice-grpc';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectController } from '../src/client.js';
import { ERROR_CODES, type ErrorCode } from '../src/domain/errors.js';
import { type Tool, ToolError, type ToolFailure, type ToolRunner } from '../src/ovn/exec.js';
import type { EndpointRecord } from '../src/ovn/model.js';
import { lsName } from '../src/ovn/names.js';
import type { AttachmentLink, DataPath } from '../src/relay/datapath.js';
import { type Controller, startController } from '../src/server/server.js';

const captured = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/ovn/tool-failures.json', import.meta.url), 'utf8'),
) as { failures: Record<string, Omit<ToolFailure, 'timedOut'>> };

function capturedFailure(name: string): ToolError {
  const f = captured.failures[name];
  if (!f) throw new Error(`no captured failure ${name}`);
  return new ToolError({ ...f, timedOut: false });
}

/** A fake OVS/OVN: empty tables, one chassis, uuids for `create`; `failNext` fails the next call. */
class FakeTools {
  calls: { tool: Tool; args: readonly string[] }[] = [];
  failNext: ToolError | undefined;
  /** Every ovs-appctl call fails as on a killed daemon (northd's socket refuses). */
  northdDown = false;
  readonly run: ToolRunner = async (tool, args) => {
    this.calls.push({ tool, args });
    if (this.northdDown && tool === 'ovs-appctl')
      throw capturedFailure('appctl-connection-refused');
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    if (args.includes('Open_vSwitch'))
      return {
        stdout: '{"data":[[["map",[["system-id","chassis-1"]]]]],"headings":["external_ids"]}',
        stderr: '',
      };
    if (args.includes('--format=json')) return { stdout: '{"data":[],"headings":[]}', stderr: '' };
    const creates = args.filter((a) => a === 'create').length;
    return {
      stdout: Array.from({ length: creates }, (_, i) => `uuid-${i}\n`).join(''),
      stderr: '',
    };
  };

  /** The sub-commands of the last transaction of `tool`. */
  lastTransaction(tool: Tool): string[][] {
    const call = this.calls.filter((c) => c.tool === tool && c.args.includes('--')).at(-1);
    const cmds: string[][] = [];
    for (const arg of call?.args ?? []) {
      if (arg === '--') cmds.push([]);
      else cmds.at(-1)?.push(arg);
    }
    return cmds;
  }
}

/** A data path that FAKES the helper relays; container "broken" cannot get one. */
const dataPath: DataPath = {
  async open(ep: EndpointRecord): Promise<AttachmentLink> {
    if (ep.containerId === 'broken') throw new Error(`TAP ${ep.portName}: Operation not permitted`);
    return {
      connections: 0,
      connected: false,
      stats: emptyTapLinkStats,
      close: async () => undefined,
    };
  },
};

/** The gRPC status a call ended with, and its message. */
async function outcome(call: Promise<unknown>): Promise<{ code: Status; details: string }> {
  try {
    await call;
    return { code: Status.OK, details: '' };
  } catch (err) {
    const { code, details } = err as { code?: unknown; details?: unknown };
    if (typeof code !== 'number') throw err;
    return { code, details: String(details) };
  }
}

const dirs: string[] = [];
const running: { close(): unknown }[] = [];

/** A controller on `tools` (and an uplink to 198.51.100.0/30: one free external address). */
async function start(tools: FakeTools, uplink = false, runDir?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'arca-net-service-'));
  dirs.push(dir);
  const controller: Controller = await startController({
    listen: `unixdir:${dir}`,
    ovn: {
      nbSock: '/nb.sock',
      sbSock: '/sb.sock',
      ovsSock: '/ovs.sock',
      ...(runDir ? { runDir } : {}),
    },
    runner: tools.run,
    dataPath,
    ...(uplink ? { uplink: { cidr: '198.51.100.0/30', gateway: '198.51.100.1' } } : {}),
  });
  running.push(controller);
  const { client, close } = connectController(controller.grpcSocketPath);
  running.push({ close });
  return client;
}

afterAll(async () => {
  for (const r of running.reverse()) await r.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const { NetworkPolicyRule_Action: A, NetworkPolicyRule_Protocol: P } = network;
const denyIcmp = { action: A.DENY, protocol: P.ICMP, port: 0, priority: 10 };

describe('SetNetworkPolicy', () => {
  const tools = new FakeTools();
  let client: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    client = await start(tools);
    await client.createBridge({ networkId: 'net-a', subnet: '10.1.0.0/24' });
    await client.createBridge({ networkId: 'net-b', subnet: '10.2.0.0/24' });
  });

  /** The `create ACL` sub-commands of the last ovn-nbctl transaction, without their external_ids. */
  const aclsWritten = () =>
    tools
      .lastTransaction('ovn-nbctl')
      .filter((cmd) => cmd[2] === 'ACL')
      .map((cmd) => cmd.slice(0, -1));

  it('takes "any" as source and destination network, like an empty one', async () => {
    await client.setNetworkPolicy({
      networkId: 'net-a',
      rules: [{ ...denyIcmp, sourceNetwork: 'any', destinationNetwork: 'any' }],
    });
    const withAny = aclsWritten();
    expect(withAny).toEqual([
      [
        '--id=@acl0',
        'create',
        'ACL',
        'direction=to-lport',
        'priority=1010',
        'match="ip4 && icmp4"',
        'action=drop',
      ],
    ]);
    await client.setNetworkPolicy({
      networkId: 'net-a',
      rules: [{ ...denyIcmp, sourceNetwork: '', destinationNetwork: '' }],
    });
    expect(aclsWritten()).toEqual(withAny);
  });

  it('mixes "any" with network ids', async () => {
    await client.setNetworkPolicy({
      networkId: 'net-a',
      rules: [
        { ...denyIcmp, sourceNetwork: 'net-b', destinationNetwork: 'any' },
        { ...denyIcmp, sourceNetwork: 'any', destinationNetwork: 'net-a' },
      ],
    });
    expect(aclsWritten().map((cmd) => cmd[5])).toEqual([
      'match="ip4 && icmp4 && ip4.src == 10.2.0.0/24"',
      'match="ip4 && icmp4 && ip4.dst == 10.1.0.0/24"',
    ]);
  });

  it('still refuses an unknown network id with NOT_FOUND and writes nothing', async () => {
    const before = tools.calls.length;
    expect(
      await outcome(
        client.setNetworkPolicy({
          networkId: 'net-a',
          rules: [{ ...denyIcmp, sourceNetwork: 'net-nope', destinationNetwork: 'any' }],
        }),
      ),
    ).toEqual({ code: Status.NOT_FOUND, details: 'network net-nope not found' });
    expect(tools.calls.length).toBe(before);
  });
});

describe('the error table', () => {
  const tools = new FakeTools();
  const uplinkTools = new FakeTools();
  let client: Awaited<ReturnType<typeof start>>;
  let uplinked: Awaited<ReturnType<typeof start>>;
  const northdTools = new FakeTools();
  let noNorthd: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    client = await start(tools);
    uplinked = await start(uplinkTools, true);
    noNorthd = await start(northdTools, false, '/tmp/ovncap');
    await noNorthd.createBridge({ networkId: 'net-n', subnet: '10.4.0.0/24' });
    northdTools.northdDown = true;
    await client.createBridge({ networkId: 'net-e', subnet: '10.5.0.0/24' });
    await client.attachContainer({
      containerId: 'c1',
      networkId: 'net-e',
      macAddress: '02:00:00:00:05:01',
      vsockPort: 20001,
    });
    await uplinked.createBridge({ networkId: 'one', subnet: '10.8.0.0/24' });
  });
  afterEach(() => {
    tools.failNext = undefined;
  });

  /** Per code: a call that ends with it, its gRPC status, and words of its message. */
  const reach: Record<ErrorCode, [() => Promise<unknown>, Status, string]> = {
    INVALID_ARGUMENT: [
      () => client.deleteBridge({ networkId: 'a;b' }),
      Status.INVALID_ARGUMENT,
      'network_id "a;b" is not valid',
    ],
    NOT_FOUND: [
      () => client.setNetworkPolicy({ networkId: 'net-nope', rules: [] }),
      Status.NOT_FOUND,
      'network net-nope not found',
    ],
    ALREADY_EXISTS: [
      () => client.createBridge({ networkId: 'net-f', subnet: '10.5.0.0/16' }),
      Status.ALREADY_EXISTS,
      'overlaps subnet 10.5.0.0/24',
    ],
    FAILED_PRECONDITION: [
      () => client.deleteBridge({ networkId: 'net-e' }),
      Status.FAILED_PRECONDITION,
      'still has 1 endpoint(s)',
    ],
    RESOURCE_EXHAUSTED: [
      () => uplinked.createBridge({ networkId: 'two', subnet: '10.9.0.0/24' }),
      Status.RESOURCE_EXHAUSTED,
      'no free address left in the external network 198.51.100.0/30',
    ],
    OVN_UNAVAILABLE: [
      () => {
        tools.failNext = capturedFailure('nbctl-connection-refused');
        return client.createBridge({ networkId: 'net-g', subnet: '10.6.0.0/24' });
      },
      Status.UNAVAILABLE,
      'creating the network: ovn-nbctl --db=unix:/tmp/ovncap/nb.sock --timeout=5 -- ls-add sw2 exited 1: ovn-nbctl: unix:/tmp/ovncap/nb.sock: database connection failed (Connection refused)',
    ],
    OVN_NORTHD_DOWN: [
      () =>
        noNorthd.attachContainer({
          containerId: 'c1',
          networkId: 'net-n',
          macAddress: '02:00:00:00:04:01',
          vsockPort: 20001,
        }),
      Status.FAILED_PRECONDITION,
      'OVN northd is not running in the helper VM (ovs-appctl',
    ],
    OVN_REFUSED: [
      () => {
        tools.failNext = capturedFailure('nbctl-constraint-violation');
        return client.setNetworkPolicy({ networkId: 'net-e', rules: [] });
      },
      Status.INTERNAL,
      'writing ACLs: ovn-nbctl',
    ],
    INTERNAL: [
      () =>
        client.attachContainer({
          containerId: 'broken',
          networkId: 'net-e',
          macAddress: '02:00:00:00:05:02',
          vsockPort: 20002,
        }),
      Status.INTERNAL,
      'opening the data path of',
    ],
  };

  it('reaches every code of the table, and only those', () => {
    const codes = Object.keys(ERROR_CODES);
    const missing = codes.filter((code) => !(code in reach));
    expect(
      missing,
      `controller codes no call here reaches (add one): ${missing.join(', ')}`,
    ).toEqual([]);
    expect(Object.keys(reach).filter((code) => !codes.includes(code))).toEqual([]);
  });

  it.each(Object.entries(reach))(
    '%s is reachable through NetworkControl and maps to its status',
    async (code, [call, status, words]) => {
      expect(ERROR_CODES[code as ErrorCode]).toBe(status);
      const { code: got, details } = await outcome(call());
      expect(got).toBe(status);
      expect(details).toContain(words);
    },
  );

  it('an OVN failure leaves the domain as it was: the network can be created once OVN answers', async () => {
    tools.failNext = capturedFailure('nbctl-database-hangs');
    expect(
      (await outcome(client.createBridge({ networkId: 'net-h', subnet: '10.7.0.0/24' }))).code,
    ).toBe(Status.UNAVAILABLE);
    await client.createBridge({ networkId: 'net-h', subnet: '10.7.0.0/24' });
    const bridges = await client.listBridges({});
    expect(bridges.bridges.map((b) => b.networkId)).toContain('net-h');
    expect(tools.lastTransaction('ovn-nbctl')[0]).toEqual([
      '--may-exist',
      'ls-add',
      lsName('net-h'),
    ]);
  });
});
