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
import { FORWARDER_STATUS_TABLE, ForwarderPool, type ForwarderRpc } from '../src/forwarders.js';
import { HELPER_STATUS_TABLE, HelperClient, type HelperRpc } from '../src/helper-client.js';
import { FakeForwarder, FakeHelper } from './fake-vms.js';
import { CONTAINER, forwarderCalls, helperCalls, NETWORK } from './rpc-calls.js';

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
  'AttachContainer FAILED_PRECONDITION': 'NORTHD_UNAVAILABLE',
};

/** Remove RPCs for which NOT_FOUND means "nothing to remove" (they resolve false). */
const NOTHING_TO_REMOVE = new Set([
  'DeleteBridge NOT_FOUND',
  'DetachContainer NOT_FOUND',
  'DetachNetwork NOT_FOUND',
  'UnpublishPort NOT_FOUND',
]);

let root: string;
let fakeHelper: FakeHelper;
let fakeForwarder: FakeForwarder;
let helper: HelperClient;
let pool: ForwarderPool;
/** One call per RPC, through `helper` and `pool`. */
let helperCall: Record<HelperRpc, () => Promise<unknown>>;
let forwarderCall: Record<ForwarderRpc, () => Promise<unknown>>;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'arca-host-rpc-'));
  fakeHelper = new FakeHelper(join(root, 'helper'), []);
  await fakeHelper.start();
  fakeForwarder = new FakeForwarder('one', join(root, 'vm-one'), []);
  await fakeForwarder.start();
  helper = await HelperClient.connect({ kind: 'unixdir', dir: fakeHelper.dir }, POLICY);
  pool = new ForwarderPool(POLICY);
  pool.setEndpoint(CONTAINER.id, { kind: 'unixdir', dir: fakeForwarder.dir });
  helperCall = helperCalls(helper);
  forwarderCall = forwarderCalls(pool);
});

afterEach(async () => {
  await pool.close();
  await helper.close();
  await fakeForwarder.stop();
  await fakeHelper.stop();
  rmSync(root, { recursive: true, force: true });
});

/** Runs `call` with the fake answering `status` once, and returns what came out. */
async function answer(
  failures: Map<string, Error>,
  rpc: string,
  status: Status,
  call: (() => Promise<unknown>) | undefined,
): Promise<{ value: unknown } | { error: unknown }> {
  if (!call) throw new Error(`packages/host/test/rpc-calls.ts has no call of ${rpc}: add one`);
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

  for (const rpc of Object.keys(HELPER_STATUS_TABLE) as HelperRpc[]) {
    it(`${rpc}: every status becomes its row, nothing-to-remove, or the fallback, with the helper's message`, async () => {
      for (const status of FAILURES) {
        const key = `${rpc} ${Status[status]}`;
        const outcome = await answer(fakeHelper.failures, rpc, status, helperCall[rpc]);
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

  for (const rpc of Object.keys(FORWARDER_STATUS_TABLE) as ForwarderRpc[]) {
    it(`${rpc}: every status becomes nothing-to-remove or the fallback, with the forwarder's message`, async () => {
      for (const status of FAILURES) {
        const key = `${rpc} ${Status[status]}`;
        const outcome = await answer(fakeForwarder.failures, rpc, status, forwarderCall[rpc]);
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
