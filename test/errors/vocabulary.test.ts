/**
 * The one error vocabulary (docs/errors.md) against the sources it
 * documents. Listed: every code of every table has its row in the doc, and
 * every row names a code that exists, with the mapping the source has.
 * Mapped: what each VM code becomes in the host, found by having a FAKE
 * helper or forwarder (packages/host/test/fake-vms.ts) answer every RPC the
 * host calls with its status through the host's real clients, is what the
 * doc says, and the layers agree: a failure of a VM reaches the user as a
 * failure (5xx, never a fact about the request), an unreachable one as exit
 * code 3, and docs/cli.md lists each kind under its exit code.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerError, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../packages/cli/dist/errors.js';
import { ERROR_CODES, OVN_FAILURE_CODES } from '../../packages/controller/dist/domain/errors.js';
import { forwarderErrors } from '../../packages/forwarder/dist/errors.js';
import { FORWARDER_STATUS_TABLE, ForwarderPool } from '../../packages/host/dist/forwarders.js';
import { HELPER_STATUS_TABLE, HelperClient } from '../../packages/host/dist/helper-client.js';
import {
  type ErrorCode,
  errorTable,
  isBackendError,
  NetworkBackendError,
} from '../../packages/host/dist/index.js';
import { FakeForwarder, FakeHelper } from '../../packages/host/test/fake-vms.js';
import { CONTAINER, forwarderCalls, helperCalls } from '../../packages/host/test/rpc-calls.js';
import { LabHostAnswer, STATUS_OF_KIND } from '../../packages/lab/dist/index.js';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The rows of every Markdown table of `markdown`, by the first cell of its header row. */
function markdownTables(markdown: string): Map<string, string[][]> {
  const tables = new Map<string, string[][]>();
  const lines = markdown.split('\n');
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim());
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]?.startsWith('|') || !/^\|[-| :]+\|$/.test(lines[i + 1]?.trim() ?? '')) continue;
    const title = cells(lines[i] ?? '')[0] ?? '';
    const rows: string[][] = [];
    for (i += 2; lines[i]?.startsWith('|'); i++) rows.push(cells(lines[i] ?? ''));
    tables.set(title, rows);
  }
  return tables;
}

/** The text of the first `code span` of a cell (the cell itself when it has none). */
const spanned = (cell: string | undefined) => /`([^`]+)`/.exec(cell ?? '')?.[1] ?? cell ?? '';
/** Every code (`UPPER_CASE` span) a cell names. */
const codesIn = (cell: string | undefined) =>
  [...(cell ?? '').matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1] ?? '');

const doc = markdownTables(read('docs/errors.md'));

/** The rows of the table whose header starts with `title`, by the code of their first cell. */
function docTable(title: string): Map<string, string[]> {
  const rows = doc.get(title);
  if (!rows) throw new Error(`docs/errors.md has no table whose header starts with "${title}"`);
  return new Map(rows.map((row) => [spanned(row[0]), row]));
}

/** Fails, naming each one, for codes of `source` without a doc row and doc rows without a code. */
function expectListed(title: string, rows: Map<string, string[]>, codes: string[], file: string) {
  const missing = codes.filter((code) => !rows.has(code));
  const unknown = [...rows.keys()].filter((code) => !codes.includes(code));
  expect(
    missing,
    `${file} has codes without a row in the "${title}" table of docs/errors.md: ${missing.join(', ')}`,
  ).toEqual([]);
  expect(
    unknown,
    `the "${title}" table of docs/errors.md has rows for codes ${file} does not have: ${unknown.join(', ')}`,
  ).toEqual([]);
}

/** A host error of `kind`, as the lab client rebuilds it from the lab host's answer. */
function answered(kind: string): NetworkBackendError {
  const code = (Object.keys(errorTable) as ErrorCode[]).find((c) => errorTable[c] === kind);
  if (!code) throw new Error(`no host code of kind ${kind}`);
  return new NetworkBackendError(code, 'the message', {
    cause: new LabHostAnswer(
      'GET /v1/networks',
      STATUS_OF_KIND[kind as keyof typeof STATUS_OF_KIND],
    ),
  });
}

/** Every kind: those of the host's codes and those the lab API has a status for. */
const kinds = [...new Set([...Object.values(errorTable), ...Object.keys(STATUS_OF_KIND)])];
const exitCodeOf = (kind: string) => describeError(answered(kind))[1];

describe('listed: docs/errors.md has a row for every code, with the mapping of its source', () => {
  it('OVN failures: each kind the driver reports, and the controller code it becomes', () => {
    const rows = docTable('OVN failure');
    expectListed('OVN failure', rows, Object.keys(OVN_FAILURE_CODES), 'src/ovn/errors.ts');
    for (const [kind, code] of Object.entries(OVN_FAILURE_CODES)) {
      expect(spanned(rows.get(kind)?.[1]), kind).toBe(code);
    }
  });

  it("the controller's codes, with their gRPC status", () => {
    const rows = docTable('controller code');
    const file = 'packages/controller/src/domain/errors.ts';
    expectListed('controller code', rows, Object.keys(ERROR_CODES), file);
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      expect(spanned(rows.get(code)?.[1]), code).toBe(Status[status]);
    }
  });

  it("the forwarder's codes, with their gRPC status", () => {
    const rows = docTable('forwarder code');
    const file = 'packages/forwarder/src/errors.ts';
    expectListed('forwarder code', rows, Object.keys(forwarderErrors), file);
    for (const [code, { status }] of Object.entries(forwarderErrors)) {
      expect(spanned(rows.get(code)?.[1]), code).toBe(Status[status]);
    }
  });

  it("the host clients' (RPC, status) rows", () => {
    const source = [HELPER_STATUS_TABLE, FORWARDER_STATUS_TABLE].flatMap((table) =>
      Object.entries(table).flatMap(([rpc, statuses]) =>
        Object.entries(statuses as Record<string, string>).map(
          ([status, code]) => `${rpc} ${Status[Number(status)]} → ${code}`,
        ),
      ),
    );
    const rows = (doc.get('RPC') ?? []).map(
      ([rpc, status, code]) => `${spanned(rpc)} ${spanned(status)} → ${spanned(code)}`,
    );
    expect(
      source.filter((row) => !rows.includes(row)),
      'rows of packages/host/src/helper-client.ts or forwarders.ts missing from the "RPC" table of docs/errors.md',
    ).toEqual([]);
    expect(
      rows.filter((row) => !source.includes(row)),
      'rows of the "RPC" table of docs/errors.md that the host clients do not have',
    ).toEqual([]);
  });

  it("the host's codes, with their kind", () => {
    const rows = docTable('host code');
    expectListed('host code', rows, Object.keys(errorTable), 'packages/host/src/errors.ts');
    for (const [code, kind] of Object.entries(errorTable)) {
      expect(spanned(rows.get(code)?.[1]), code).toBe(kind);
    }
  });

  it('the kinds, with their HTTP status and exit code', () => {
    const rows = docTable('kind');
    expectListed('kind', rows, kinds, 'packages/host/src/errors.ts (ErrorKind)');
    for (const kind of kinds) {
      expect(rows.get(kind)?.[1], `HTTP status of ${kind}`).toBe(
        String(STATUS_OF_KIND[kind as keyof typeof STATUS_OF_KIND]),
      );
      expect(rows.get(kind)?.[2], `exit code of ${kind}`).toBe(String(exitCodeOf(kind)));
    }
  });
});

describe('mapped: every code reaches the next layer, and no two layers disagree', () => {
  let root: string;
  let fakeHelper: FakeHelper;
  let fakeForwarder: FakeForwarder;
  let helper: HelperClient;
  let pool: ForwarderPool;
  const policy = { deadlineMs: 3000, retryUnavailableMs: 0 };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'arcanet-vocabulary-'));
    fakeHelper = new FakeHelper(join(root, 'helper'), []);
    await fakeHelper.start();
    fakeForwarder = new FakeForwarder('one', join(root, 'vm-one'), []);
    await fakeForwarder.start();
    helper = await HelperClient.connect({ kind: 'unixdir', dir: fakeHelper.dir }, policy);
    pool = new ForwarderPool(policy);
    pool.setEndpoint(CONTAINER.id, { kind: 'unixdir', dir: fakeForwarder.dir });
  });

  afterAll(async () => {
    await pool?.close();
    await helper?.close();
    await fakeForwarder?.stop();
    await fakeHelper?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /**
   * The host codes a VM answering `status` becomes, over every RPC of `table`
   * (a remove RPC's "nothing to remove" is no error and adds none).
   */
  async function hostCodesOf(
    status: Status,
    table: object,
    calls: Record<string, () => Promise<unknown>>,
    failures: Map<string, Error>,
  ): Promise<Set<string>> {
    const codes = new Set<string>();
    for (const rpc of Object.keys(table)) {
      const call = calls[rpc];
      if (!call) throw new Error(`packages/host/test/rpc-calls.ts has no call of ${rpc}: add one`);
      failures.set(rpc, new ServerError(status, `the VM answers ${Status[status]}`));
      const error = await call().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      failures.delete(rpc);
      if (error === undefined) continue;
      expect(isBackendError(error), `${rpc} ${Status[status]}: ${String(error)}`).toBe(true);
      codes.add((error as NetworkBackendError).code);
    }
    return codes;
  }

  /** For each VM code, the host codes its status becomes, checked against the doc's cell. */
  async function expectReaches(
    title: string,
    statuses: Record<string, Status>,
    reach: (status: Status) => Promise<Set<string>>,
  ): Promise<Map<Status, Set<string>>> {
    const rows = docTable(title);
    const seen = new Map<Status, Set<string>>();
    for (const [code, status] of Object.entries(statuses)) {
      const codes = seen.get(status) ?? (await reach(status));
      seen.set(status, codes);
      expect(
        [...codes].sort(),
        `${code} (${Status[status]}): the host codes its row in the "${title}" table says`,
      ).toEqual(codesIn(rows.get(code)?.[2]).sort());
    }
    return seen;
  }

  /** A VM failure (status UNAVAILABLE or INTERNAL) reaches the host as such, never as a request fact. */
  function expectFailuresStayFailures(seen: Map<Status, Set<string>>): void {
    const expected: Partial<Record<Status, string>> = {
      [Status.UNAVAILABLE]: 'unavailable',
      [Status.INTERNAL]: 'internal',
    };
    for (const [status, codes] of seen) {
      const kind = expected[status];
      if (!kind) continue;
      for (const code of codes) {
        expect(errorTable[code as ErrorCode], `${Status[status]} → ${code}`).toBe(kind);
      }
    }
  }

  it("what each controller code becomes in the host, over every NetworkControl RPC the host calls, is its row's", async () => {
    const statuses = Object.fromEntries(Object.entries(ERROR_CODES));
    const seen = await expectReaches('controller code', statuses, (status) =>
      hostCodesOf(status, HELPER_STATUS_TABLE, helperCalls(helper), fakeHelper.failures),
    );
    expectFailuresStayFailures(seen);
  });

  it("what each forwarder code becomes in the host, over every TAPForwarder RPC the host calls, is its row's", async () => {
    const statuses = Object.fromEntries(
      Object.entries(forwarderErrors).map(([code, { status }]) => [code, status]),
    );
    const seen = await expectReaches('forwarder code', statuses, (status) =>
      hostCodesOf(status, FORWARDER_STATUS_TABLE, forwarderCalls(pool), fakeForwarder.failures),
    );
    expectFailuresStayFailures(seen);
  });

  it("every status in the host clients' tables is one the VM answers with (no dead rows)", () => {
    const answers = {
      NetworkControl: new Set<number>(Object.values(ERROR_CODES)),
      TAPForwarder: new Set<number>(Object.values(forwarderErrors).map((e) => e.status)),
    };
    for (const [service, table] of [
      ['NetworkControl', HELPER_STATUS_TABLE],
      ['TAPForwarder', FORWARDER_STATUS_TABLE],
    ] as const) {
      for (const [rpc, statuses] of Object.entries(table)) {
        for (const status of Object.keys(statuses)) {
          expect(answers[service].has(Number(status)), `${rpc} ${Status[Number(status)]}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('every host code has a kind with an HTTP status and an exit code', () => {
    for (const [code, kind] of Object.entries(errorTable)) {
      expect(
        STATUS_OF_KIND[kind as keyof typeof STATUS_OF_KIND],
        `HTTP status of ${code} (${kind})`,
      ).toBeGreaterThanOrEqual(400);
      expect([1, 3], `exit code of ${code} (${kind})`).toContain(exitCodeOf(kind));
    }
  });

  it('the lab API and the CLI agree: 5xx for the kinds of VM failures, 503 exactly where the exit code is 3', () => {
    const failureKinds = new Set<string>(
      ['HELPER_FAILED', 'HELPER_UNAVAILABLE', 'FORWARDER_FAILED', 'FORWARDER_UNAVAILABLE'].map(
        (code) => errorTable[code as ErrorCode],
      ),
    );
    for (const kind of kinds) {
      const http = STATUS_OF_KIND[kind as keyof typeof STATUS_OF_KIND];
      expect(http >= 500, `${kind}: HTTP ${http}`).toBe(failureKinds.has(kind));
      expect(http === 503, `${kind}: HTTP ${http}, exit ${exitCodeOf(kind)}`).toBe(
        exitCodeOf(kind) === 3,
      );
    }
  });

  it('docs/cli.md lists each kind under its exit code', () => {
    const rows = markdownTables(read('docs/cli.md')).get('code') ?? [];
    for (const kind of kinds) {
      const row = rows.find(([code]) => code === String(exitCodeOf(kind)));
      expect(row?.[1], `docs/cli.md, exit code ${exitCodeOf(kind)}`).toContain(`\`${kind}\``);
    }
  });
});
