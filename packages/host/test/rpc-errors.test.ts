/**
 * The (RPC, gRPC status) → host error tables of the helper client and the
 * forwarder pool, driven end to end: a FAKE helper and a FAKE forwarder (real
 * gRPC servers, see fake-vms.ts) answer each RPC with each non-OK status, and
 * the host error that comes out is checked against the expectations below,
 * with the VM's message kept and the ClientError as cause.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientError, ServerError, Status } from 'nice-grpc';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, NetworkBackendError } from '../src/errors.js';
import { FORWARDER_STATUS_TABLE, ForwarderPool } from '../src/forwarders.js';
import { HELPER_STATUS_TABLE, HelperClient, type HelperRpc } from '../src/helper-client.js';
import type { ContainerRecord, NetworkRecord } from '../src/state.js';
import { FakeForwarder, FakeHelper } from './fake-vms.js';

/** Every status a server can answer besides OK. */
const FAILURES = Object.values(Status).filter(
  (s): s is Status => typeof s === 'number' && s !== Status.OK,
);

/** No retries of UNAVAILABLE: each case is one answer of the fake. */
const POLICY = { deadlineMs: 3000, retryUnavailableMs: 0 };

/** The statuses that mean the VM could not be reached rather than that it refused. */
const UNREACHABLE = [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED];

/** What the helper's statuses must become, beside the fallbacks. */
const HELPER_EXPECTED: Record<string, ErrorCode> = {
  'CreateBridge ALREADY_EXISTS': 'POOL_OVERLAP',
  'CreateBridge RESOURCE_EXHAUSTED': 'EXTERNAL_ADDRESSES_EXHAUSTED',
  'AttachContainer ALREADY_EXISTS': 'ADDRESS_IN_USE',
};

/** Remove RPCs for which NOT_FOUND means "nothing to remove" (they resolve false). */
const NOTHING_TO_REMOVE = new Set([
  'DeleteBridge NOT_FOUND',
  'DetachContainer NOT_FOUND',
  'DetachNetwork NOT_FOUND',
]);

const NETWORK: NetworkRecord = {
  id: 'a'.repeat(64),
  name: 'front',
  subnet: '10.20.0.0/24',
  gateway: '10.20.0.1',
  ipRange: '',
  internal: false,
  mtu: 0,
  labels: {},
  options: {},
  created: '2024-01-01T00:00:00.000Z',
};
const CONTAINER: ContainerRecord = {
  id: 'b'.repeat(64),
  name: 'one',
  endpoint: null,
  running: true,
};

let root: string;
let fakeHelper: FakeHelper;
let fakeForwarder: FakeForwarder;
let helper: HelperClient;
let pool: ForwarderPool;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'arca-host-rpc-'));
  fakeHelper = new FakeHelper(join(root, 'helper'), []);
  await fakeHelper.start();
  fakeForwarder = new FakeForwarder('one', join(root, 'vm-one'), []);
  await fakeForwarder.start();
  helper = await HelperClient.connect({ kind: 'unixdir', dir: fakeHelper.dir }, POLICY);
  pool = new ForwarderPool(POLICY);
  pool.setEndpoint(CONTAINER.id, { kind: 'unixdir', dir: fakeForwarder.dir });
});

afterEach(async () => {
  await pool.close();
  await helper.close();
  await fakeForwarder.stop();
  await fakeHelper.stop();
  rmSync(root, { recursive: true, force: true });
});

const HELPER_CALLS: Record<HelperRpc, () => Promise<unknown>> = {
  CreateBridge: () => helper.createBridge(NETWORK),
  DeleteBridge: () => helper.deleteBridge(NETWORK.id, NETWORK.name),
  AttachContainer: () =>
    helper.attachContainer(
      {
        containerId: CONTAINER.id,
        networkId: NETWORK.id,
        ipAddress: '10.20.0.2',
        macAddress: '02:42:0a:14:00:02',
        hostname: CONTAINER.name,
        aliases: [],
        vsockPort: 20000,
      },
      'one to front',
    ),
  DetachContainer: () => helper.detachContainer(CONTAINER.id, NETWORK.id, CONTAINER.name),
  ListBridges: () => helper.listBridges(),
  GetHealth: () => helper.uptimeSeconds(AbortSignal.timeout(3000)),
};

const FORWARDER_CALLS: Record<keyof typeof FORWARDER_STATUS_TABLE, () => Promise<unknown>> = {
  AttachNetwork: () =>
    pool.attachNetwork(CONTAINER, {
      device: 'eth0',
      vsockPort: 20000,
      ipAddress: '10.20.0.2',
      gateway: '10.20.0.1',
      netmask: 24,
      macAddress: '02:42:0a:14:00:02',
      defaultRoute: true,
      mtu: 0,
    }),
  DetachNetwork: () => pool.detachNetwork(CONTAINER, 'eth0'),
  UpdateDNSMappings: () => pool.updateDns(CONTAINER, { networks: {}, upstreamServers: [] }),
};

/** Runs `call` with the fake answering `status` once, and returns what came out. */
async function answer(
  failures: Map<string, Error>,
  rpc: string,
  status: Status,
  call: () => Promise<unknown>,
): Promise<{ value: unknown } | { error: unknown }> {
  failures.set(rpc, new ServerError(status, `fake says ${rpc} ${Status[status]}`));
  try {
    return { value: await call() };
  } catch (error) {
    return { error };
  } finally {
    failures.delete(rpc);
  }
}

function expectHostError(outcome: unknown, code: ErrorCode, rpc: string, status: Status): void {
  const label = `${rpc} ${Status[status]}`;
  expect(outcome, label).toHaveProperty('error');
  const { error } = outcome as { error: unknown };
  expect(error, label).toBeInstanceOf(NetworkBackendError);
  const err = error as NetworkBackendError;
  expect(err.code, label).toBe(code);
  expect(err.message, label).toContain(`fake says ${rpc} ${Status[status]}`);
  expect(err.cause, label).toBeInstanceOf(ClientError);
  expect((err.cause as ClientError).code, label).toBe(status);
}

describe('the helper client: (RPC, status) → host error', () => {
  it('lists only rows these tests expect', () => {
    const rows = Object.entries(HELPER_STATUS_TABLE).flatMap(([rpc, statuses]) =>
      Object.entries(statuses).map(([status, code]) => [`${rpc} ${Status[Number(status)]}`, code]),
    );
    expect(Object.fromEntries(rows)).toEqual(HELPER_EXPECTED);
  });

  for (const rpc of Object.keys(HELPER_CALLS) as HelperRpc[]) {
    it(`${rpc}: every status becomes its row, nothing-to-remove, or the fallback, with the helper's message`, async () => {
      for (const status of FAILURES) {
        const key = `${rpc} ${Status[status]}`;
        const outcome = await answer(fakeHelper.failures, rpc, status, HELPER_CALLS[rpc]);
        if (NOTHING_TO_REMOVE.has(key)) {
          expect(outcome, key).toEqual({ value: false });
          continue;
        }
        const fallback = UNREACHABLE.includes(status) ? 'HELPER_UNAVAILABLE' : 'HELPER_FAILED';
        expectHostError(outcome, HELPER_EXPECTED[key] ?? fallback, rpc, status);
      }
    });
  }

  it('CreateBridge RESOURCE_EXHAUSTED is EXTERNAL_ADDRESSES_EXHAUSTED (forbidden), not a pool overlap', async () => {
    const words =
      'network x: no free address left in the external network 192.0.2.0/30 (each non-internal network takes one)';
    fakeHelper.failures.set('CreateBridge', new ServerError(Status.RESOURCE_EXHAUSTED, words));
    const err = await helper.createBridge(NETWORK).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkBackendError);
    expect(err).toMatchObject({ code: 'EXTERNAL_ADDRESSES_EXHAUSTED', kind: 'forbidden' });
    expect((err as Error).message).not.toContain('Pool overlaps');
    expect((err as Error).message).toContain(words);
  });
});

describe('the forwarder pool: (RPC, status) → host error', () => {
  it('lists no rows: every TAPForwarder status falls back', () => {
    expect(Object.values(FORWARDER_STATUS_TABLE).flatMap((row) => Object.keys(row))).toEqual([]);
  });

  for (const rpc of Object.keys(FORWARDER_CALLS) as Array<keyof typeof FORWARDER_CALLS>) {
    it(`${rpc}: every status becomes nothing-to-remove or the fallback, with the forwarder's message`, async () => {
      for (const status of FAILURES) {
        const key = `${rpc} ${Status[status]}`;
        const outcome = await answer(fakeForwarder.failures, rpc, status, FORWARDER_CALLS[rpc]);
        if (NOTHING_TO_REMOVE.has(key)) {
          expect(outcome, key).toEqual({ value: false });
          continue;
        }
        const fallback = UNREACHABLE.includes(status)
          ? 'FORWARDER_UNAVAILABLE'
          : 'FORWARDER_FAILED';
        expectHostError(outcome, fallback, rpc, status);
      }
    });
  }
});
