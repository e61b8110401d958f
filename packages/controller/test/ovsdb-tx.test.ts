import { describe, expect, it } from 'vitest';
import { OvnError } from '../src/ovn/errors.js';
import type { ToolRunner } from '../src/ovn/exec.js';
import { OvsdbGuardFailed, OvsdbTransactor } from '../src/ovn/ovsdb-tx.js';

const answering =
  (stdout: unknown, seen: (readonly string[])[] = []): ToolRunner =>
  async (_tool, args) => {
    seen.push(args);
    return { stdout: JSON.stringify(stdout), stderr: '' };
  };

describe('raw OVSDB transactions (ovsdb-client transact)', () => {
  const wait = {
    op: 'wait',
    table: 'T',
    where: [],
    columns: ['c'],
    until: '==',
    rows: [],
    timeout: 0,
  };
  const insert = { op: 'insert', table: 'T', row: {} };

  it('passes the database and the operations as one JSON argument, with the tool timeout', async () => {
    const seen: (readonly string[])[] = [];
    const tx = new OvsdbTransactor(
      answering([{}, { uuid: ['uuid', 'u'] }], seen),
      'unix:/nb',
      'DB',
      10_000,
    );
    expect(await tx.transact([wait, insert])).toEqual([{}, { uuid: ['uuid', 'u'] }]);
    expect(seen[0]).toEqual([
      '--timeout=9',
      'transact',
      'unix:/nb',
      JSON.stringify(['DB', wait, insert]),
    ]);
  });

  it('a failed wait is a guard failure; any other error the server reports is refused', async () => {
    const guard = new OvsdbTransactor(
      answering([{ error: 'timed out', details: '"where" clause test failed' }, null]),
      'unix:/nb',
      'DB',
    );
    await expect(guard.transact([wait, insert])).rejects.toBeInstanceOf(OvsdbGuardFailed);
    const refused = new OvsdbTransactor(
      answering([{}, {}, { error: 'constraint violation', details: 'duplicate name' }]),
      'unix:/nb',
      'DB',
    );
    const err = await refused.transact([wait, insert]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnError);
    expect((err as OvnError).kind).toBe('refused');
    expect((err as Error).message).toMatch(
      /operation 2 \(commit\) failed: constraint violation: duplicate name/,
    );
  });
});
