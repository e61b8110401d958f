/**
 * Raw OVSDB transactions (RFC 7047 §5.2) through `ovsdb-client transact`,
 * for what the ovn-nbctl commands cannot say: a write that commits only if
 * what it was computed from is still so. ovn-nbctl re-reads the database and
 * re-runs its commands when a row it read changed before its commit, but it
 * cannot make a decision taken from an earlier read (e.g. "I am the last
 * member, delete the shared switch") conditional; a `wait` operation with
 * timeout 0 can: it fails the whole transaction, on the server, if its rows
 * differ (transit.ts).
 */
import { OvnError, runOvnTool } from './errors.js';
import { ToolError, type ToolRunner, toolTimeoutSeconds } from './exec.js';

/** One OVSDB operation (`insert`, `select`, `mutate`, `wait`, …) as RFC 7047 writes it. */
export type OvsdbOp = Record<string, unknown>;
/** A row as `select` returns it: columns in RFC 7047 JSON (`["uuid", …]`, `["set", …]`, `["map", …]`). */
export type OvsdbJsonRow = Record<string, unknown>;

/** A `wait` operation failed: the rows it guards changed since they were read; read again and retry. */
export class OvsdbGuardFailed extends Error {
  override readonly name = 'OvsdbGuardFailed';
}

/** `["uuid", id]` */
export function uuidAtom(id: string): [string, string] {
  return ['uuid', id];
}

/** `["set", [...]]` */
export function setOf(values: readonly unknown[]): [string, unknown[]] {
  return ['set', [...values]];
}

/** `["map", [[k, v], ...]]` */
export function mapOf(entries: Iterable<readonly [string, string]>): [string, [string, string][]] {
  return ['map', [...entries].map(([k, v]): [string, string] => [k, v])];
}

/** The uuids of a uuid or set-of-uuids column of a selected row. */
export function uuidsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  if (value[0] === 'uuid' && typeof value[1] === 'string') return [value[1]];
  if (value[0] === 'set' && Array.isArray(value[1])) return value[1].flatMap(uuidsOf);
  return [];
}

/** A string map column of a selected row. */
export function mapOfRow(value: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value) && value[0] === 'map' && Array.isArray(value[1])) {
    for (const pair of value[1] as unknown[]) {
      if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string')
        out.set(pair[0], pair[1]);
    }
  }
  return out;
}

/** `ovsdb-client transact` on one database. */
export class OvsdbTransactor {
  private readonly timeoutSeconds: number;
  constructor(
    private readonly run: ToolRunner,
    private readonly db: string,
    private readonly database: string,
    timeoutMs = 30_000,
  ) {
    this.timeoutSeconds = toolTimeoutSeconds(timeoutMs);
  }

  /**
   * Runs `ops` as one transaction; resolves with one result per operation.
   * A failed `wait` rejects with {@link OvsdbGuardFailed}; any other error
   * the server reports rejects with a "refused" {@link OvnError}.
   */
  async transact(ops: readonly OvsdbOp[]): Promise<Record<string, unknown>[]> {
    const args = [
      `--timeout=${this.timeoutSeconds}`,
      'transact',
      this.db,
      JSON.stringify([this.database, ...ops]),
    ];
    const { stdout } = await runOvnTool(this.run, 'ovsdb-client', args);
    let results: unknown;
    try {
      results = JSON.parse(stdout);
    } catch {
      throw new Error(`ovsdb-client transact printed no JSON: ${stdout.slice(0, 200)}`);
    }
    if (!Array.isArray(results)) throw new Error(`ovsdb-client transact: ${stdout.slice(0, 200)}`);
    // A failed operation's result is {error, details}; a commit failure comes after the last one.
    const index = results.findIndex(
      (r) => r !== null && typeof r === 'object' && 'error' in (r as object),
    );
    if (index >= 0) {
      const { error, details } = results[index] as { error: unknown; details?: unknown };
      const what = `${String(error)}${details ? `: ${String(details)}` : ''}`;
      const op = ops[index]?.op;
      if (op === 'wait' && error === 'timed out') throw new OvsdbGuardFailed(what);
      const stderr = `operation ${index} (${String(op ?? 'commit')}) failed: ${what}`;
      throw new OvnError(
        'refused',
        new ToolError({
          tool: 'ovsdb-client',
          args,
          exitCode: 0,
          signal: null,
          stderr,
          timedOut: false,
        }),
      );
    }
    return results as Record<string, unknown>[];
  }

  /** Runs read-only `select` operations as one transaction: a consistent snapshot. */
  async select(ops: readonly OvsdbOp[]): Promise<OvsdbJsonRow[][]> {
    const results = await this.transact(ops);
    return results.map((r) => (Array.isArray(r.rows) ? (r.rows as OvsdbJsonRow[]) : []));
  }
}
