/**
 * Bad input: every invalid request fails with the right gRPC status and
 * leaves the NB database (and br-int) exactly as it was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliOvnDriver, lsName, OvnError } from '../../packages/controller/dist/index.js';
import { NetworkNamespace, runCommand, uniqueSuffix } from '../../packages/lab/dist/index.js';
import { network } from '../../packages/proto/dist/index.js';
import {
  HelperOvn,
  startTestController,
  statusOf,
  type TestController,
  VethDataPath,
} from './harness.js';

const sfx = uniqueSuffix();
let helper: HelperOvn;
let ctl: TestController;
let grpcDir: string;
let c1: NetworkNamespace;

async function state(): Promise<string> {
  return `${await helper.nbDump()}\n${await helper.vsctl('list-ports', 'br-int')}`;
}

beforeAll(async () => {
  helper = await HelperOvn.start(`anc${sfx}v`);
  const dataPath = new VethDataPath(helper);
  grpcDir = mkdtempSync(join(tmpdir(), `anc${sfx}-grpc-`));
  ctl = await startTestController(helper, dataPath, grpcDir);
  c1 = await NetworkNamespace.create(`anc${sfx}v1`);
  dataPath.place('c1', c1);
  await ctl.client.createBridge({ networkId: 'net-v', subnet: '198.51.100.0/24', name: 'valid' });
  await ctl.client.attachContainer({
    containerId: 'c1',
    networkId: 'net-v',
    macAddress: '02:00:00:00:c0:01',
    hostname: 'one',
    vsockPort: 20001,
  });
});

afterAll(async () => {
  await ctl?.close();
  await c1?.delete();
  await helper?.stop();
  if (grpcDir) rmSync(grpcDir, { recursive: true, force: true });
});

const bridge = (over: Partial<network.CreateBridgeRequest>) =>
  network.CreateBridgeRequest.fromPartial({
    networkId: 'net-new',
    subnet: '203.0.113.0/24',
    ...over,
  });
const attach = (over: Partial<network.AttachContainerRequest>) =>
  network.AttachContainerRequest.fromPartial({
    containerId: 'c2',
    networkId: 'net-v',
    macAddress: '02:00:00:00:c0:02',
    vsockPort: 20002,
    ...over,
  });
const { NetworkPolicyRule_Action: A, NetworkPolicyRule_Protocol: P } = network;
const rule = (over: Partial<network.NetworkPolicyRule>) =>
  network.NetworkPolicyRule.fromPartial({ action: A.DENY, protocol: P.TCP, ...over });

type Case = [string, number, () => Promise<unknown>];
const cases: Case[] = [
  [
    'CreateBridge: a 300 KB label key (bounded before any work)',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ labels: { ['k'.repeat(300_000)]: 'v' } })),
  ],
  [
    'SetNetworkPolicy: 1025 rules',
    Status.INVALID_ARGUMENT,
    () =>
      ctl.client.setNetworkPolicy({
        networkId: 'net-v',
        rules: Array.from({ length: 1025 }, (_, i) => rule({ port: 1000 + i })),
      }),
  ],
  [
    'CreateBridge: not a CIDR',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ subnet: 'banana' })),
  ],
  [
    'CreateBridge: prefix /33',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ subnet: '203.0.113.0/33' })),
  ],
  [
    'CreateBridge: host bits set',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ subnet: '203.0.113.7/24' })),
  ],
  [
    'CreateBridge: gateway outside the subnet',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ gateway: '192.0.2.1' })),
  ],
  [
    'CreateBridge: gateway not an IP',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ gateway: '203.0.113.1; rm' })),
  ],
  [
    'CreateBridge: ip_range outside the subnet',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ ipRange: '192.0.2.0/28' })),
  ],
  [
    'CreateBridge: name with quotes',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ name: 'a"b' })),
  ],
  [
    'CreateBridge: name with spaces',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ name: 'a b' })),
  ],
  [
    'CreateBridge: name starting with --',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ name: '--db=x' })),
  ],
  [
    'CreateBridge: name with ;',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ name: 'a;ls-del' })),
  ],
  [
    'CreateBridge: name with {} and =',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ name: '{a=b}' })),
  ],
  [
    'CreateBridge: network id with --',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ networkId: '--if-exists' })),
  ],
  [
    'CreateBridge: empty network id',
    Status.INVALID_ARGUMENT,
    () => ctl.client.createBridge(bridge({ networkId: '' })),
  ],
  [
    'CreateBridge: overlapping subnet',
    Status.ALREADY_EXISTS,
    () => ctl.client.createBridge(bridge({ subnet: '198.51.100.0/25' })),
  ],
  [
    'CreateBridge: name of another network',
    Status.ALREADY_EXISTS,
    () => ctl.client.createBridge(bridge({ name: 'valid' })),
  ],
  [
    'CreateBridge: known id, other subnet',
    Status.ALREADY_EXISTS,
    () => ctl.client.createBridge(bridge({ networkId: 'net-v' })),
  ],
  [
    'AttachContainer: multicast MAC',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ macAddress: '01:00:5e:00:00:01' })),
  ],
  [
    'AttachContainer: broadcast MAC',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ macAddress: 'ff:ff:ff:ff:ff:ff' })),
  ],
  [
    'AttachContainer: no MAC',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ macAddress: '' })),
  ],
  [
    'AttachContainer: IP outside the subnet',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ ipAddress: '203.0.113.5' })),
  ],
  [
    'AttachContainer: IP is the broadcast',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ ipAddress: '198.51.100.255' })),
  ],
  [
    'AttachContainer: IP taken',
    Status.ALREADY_EXISTS,
    () => ctl.client.attachContainer(attach({ ipAddress: '198.51.100.2' })),
  ],
  [
    'AttachContainer: IP is the gateway',
    Status.ALREADY_EXISTS,
    () => ctl.client.attachContainer(attach({ ipAddress: '198.51.100.1' })),
  ],
  [
    'AttachContainer: MAC taken on the network',
    Status.ALREADY_EXISTS,
    () => ctl.client.attachContainer(attach({ macAddress: '02:00:00:00:c0:01' })),
  ],
  [
    'AttachContainer: vsock port taken',
    Status.ALREADY_EXISTS,
    () => ctl.client.attachContainer(attach({ vsockPort: 20001 })),
  ],
  [
    'AttachContainer: duplicate attachment',
    Status.ALREADY_EXISTS,
    () => ctl.client.attachContainer(attach({ containerId: 'c1' })),
  ],
  [
    'AttachContainer: unknown network',
    Status.NOT_FOUND,
    () => ctl.client.attachContainer(attach({ networkId: 'net-nope' })),
  ],
  [
    'AttachContainer: port 19999',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ vsockPort: 19999 })),
  ],
  [
    'AttachContainer: port 30000',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ vsockPort: 30000 })),
  ],
  [
    'AttachContainer: hostname with quotes',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ hostname: "x'y" })),
  ],
  [
    'AttachContainer: hostname with spaces',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ hostname: 'x y' })),
  ],
  [
    'AttachContainer: alias with =',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ aliases: ['ok', 'a=b'] })),
  ],
  [
    'AttachContainer: alias --',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ aliases: ['--'] })),
  ],
  [
    'AttachContainer: container id with ;',
    Status.INVALID_ARGUMENT,
    () => ctl.client.attachContainer(attach({ containerId: 'c;2' })),
  ],
  [
    'DeleteBridge: network with endpoints',
    Status.FAILED_PRECONDITION,
    () => ctl.client.deleteBridge({ networkId: 'net-v' }),
  ],
  [
    'DeleteBridge: id with {}',
    Status.INVALID_ARGUMENT,
    () => ctl.client.deleteBridge({ networkId: '{}' }),
  ],
  [
    'SetNetworkPolicy: unknown network',
    Status.NOT_FOUND,
    () => ctl.client.setNetworkPolicy({ networkId: 'net-nope', rules: [] }),
  ],
  [
    'SetNetworkPolicy: unknown peer network',
    Status.NOT_FOUND,
    () =>
      ctl.client.setNetworkPolicy({
        networkId: 'net-v',
        rules: [rule({ sourceNetwork: 'net-nope' })],
      }),
  ],
  [
    'SetNetworkPolicy: port with ICMP',
    Status.INVALID_ARGUMENT,
    () =>
      ctl.client.setNetworkPolicy({
        networkId: 'net-v',
        rules: [rule({ protocol: P.ICMP, port: 80 })],
      }),
  ],
  [
    'SetNetworkPolicy: port 70000',
    Status.INVALID_ARGUMENT,
    () => ctl.client.setNetworkPolicy({ networkId: 'net-v', rules: [rule({ port: 70000 })] }),
  ],
  [
    'SetNetworkPolicy: priority too high',
    Status.INVALID_ARGUMENT,
    () => ctl.client.setNetworkPolicy({ networkId: 'net-v', rules: [rule({ priority: 40000 })] }),
  ],
  [
    'PublishPort: container not attached',
    Status.NOT_FOUND,
    () =>
      ctl.client.publishPort({
        networkId: 'net-v',
        containerId: 'c9',
        protocol: 'tcp',
        hostPort: 80,
        containerPort: 80,
      }),
  ],
  [
    'PublishPort: protocol sctp',
    Status.INVALID_ARGUMENT,
    () =>
      ctl.client.publishPort({
        networkId: 'net-v',
        containerId: 'c1',
        protocol: 'sctp',
        hostPort: 80,
        containerPort: 80,
      }),
  ],
  [
    'PublishPort: port 0',
    Status.INVALID_ARGUMENT,
    () =>
      ctl.client.publishPort({
        networkId: 'net-v',
        containerId: 'c1',
        protocol: 'tcp',
        hostPort: 0,
        containerPort: 80,
      }),
  ],
  [
    'GetAttachmentStats: unknown attachment',
    Status.NOT_FOUND,
    () => ctl.client.getAttachmentStats({ containerId: 'c9', networkId: 'net-v' }),
  ],
  [
    'ResolveDNS: unknown network',
    Status.NOT_FOUND,
    () => ctl.client.resolveDNS({ hostname: 'one', networkIds: ['net-nope'] }),
  ],
  [
    'ResolveDNS: name with quotes',
    Status.INVALID_ARGUMENT,
    () => ctl.client.resolveDNS({ hostname: '"one"', networkIds: [] }),
  ],
];

describe('bad input', () => {
  it.each(cases)(
    '%s fails with status %i and leaves OVN unchanged',
    async (_what, status, call) => {
      const before = await state();
      expect(await statusOf(call())).toBe(status);
      expect(await state()).toBe(before);
    },
  );

  it('a command the real NB database refuses is an "OVN refused" failure with the tool stderr', async () => {
    const driver = ctl.controller.driver as CliOvnDriver;
    const err = await driver.nbctl.transact([['ls-add', lsName('net-v')]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnError);
    expect(err).toMatchObject({ kind: 'refused', cause: { tool: 'ovn-nbctl', exitCode: 1 } });
    expect((err as OvnError).message).toContain('a switch with this name already exists');
  });

  it('an unreachable NB database is UNAVAILABLE with the tool stderr, not a request error', async () => {
    await runCommand(['ovs-appctl', '-t', join(helper.runDir, 'ovsdb-server-nb.ctl'), 'exit']);
    const err = await ctl.client
      .createBridge(bridge({}))
      .catch((e: unknown) => e as { code: number; details: string });
    expect(err).toMatchObject({ code: Status.UNAVAILABLE });
    expect((err as { details: string }).details).toMatch(
      /ovn-nbctl .*(database connection failed|Connection refused|No such file)/,
    );
  });

  it('with the NB database gone, the driver reports "OVN unavailable" with the tool stderr', async () => {
    const err = await ctl.controller.driver.readState().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnError);
    expect(err).toMatchObject({ kind: 'unavailable', cause: { tool: 'ovn-nbctl' } });
    expect((err as OvnError).message).toMatch(/database connection failed|Connection refused/);
  });
});
