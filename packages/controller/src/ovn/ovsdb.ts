/**
 * The base of the ovsdb CLIs (`ovn-nbctl`, `ovn-sbctl`, `ovs-vsctl`): every
 * call names its database and carries the tool's own `--timeout`; several
 * commands run as one transaction joined with `--`; `list`/`find` read
 * `--format=json` through the RFC 7047 decoder; `wait-until` waits for a row.
 * Failures come out classified ({@link OvnError}). Also the OVSDB syntax of
 * the values our commands write.
 */

import { runOvnTool } from './errors.js';
import { type ToolRunner, toolTimeoutSeconds } from './exec.js';
import { type OvsdbRow, parseTable } from './json.js';

/** One sub-command of a transaction, e.g. `['ls-add', 'an-ls-…']`. */
export type Cmd = readonly string[];

/** OVSDB string syntax: a JSON-quoted string is always parsed verbatim. */
export function q(value: string): string {
  return JSON.stringify(value);
}

/** `column:"key"="value"` for set/create/add arguments. */
export function kv(column: string, key: string, value: string): string {
  return `${column}:${q(key)}=${q(value)}`;
}

/** `column={"k"="v", …}` for a whole map column. */
export function mapValue(column: string, entries: Iterable<readonly [string, string]>): string {
  const parts = [...entries].map(([k, v]) => `${q(k)}=${q(v)}`);
  return `${column}={${parts.join(',')}}`;
}

/** The ovsdb CLIs. */
export type OvsdbTool = 'ovn-nbctl' | 'ovn-sbctl' | 'ovs-vsctl';

/** Where an ovsdb CLI finds its database. */
export interface OvsdbCliOptions {
  /** e.g. "unix:/run/arca-net-helper/ovnnb_db.sock" */
  db: string;
  /** Process timeout (ms); the tool's own `--timeout` is a little below it. Default 30 s. */
  timeoutMs?: number;
}

/** Transactions and reads of one OVSDB database through its CLI. */
export class OvsdbCli {
  private readonly timeoutSeconds: number;
  constructor(
    private readonly run: ToolRunner,
    readonly tool: OvsdbTool,
    private readonly options: OvsdbCliOptions,
  ) {
    this.timeoutSeconds = toolTimeoutSeconds(options.timeoutMs ?? 30_000);
  }

  /** Runs `--db=… --timeout=… …args`; resolves with stdout. */
  private async exec(
    args: readonly string[],
    timeoutSeconds = this.timeoutSeconds,
  ): Promise<string> {
    const argv = [`--db=${this.options.db}`, `--timeout=${timeoutSeconds}`, ...args];
    return (await runOvnTool(this.run, this.tool, argv)).stdout;
  }

  /** Runs `cmds` as one transaction (`-- cmd -- cmd …`); resolves with stdout lines (e.g. uuids that `create` printed). */
  transact(cmds: readonly Cmd[]): Promise<string[]> {
    return this.transactWith([], cmds);
  }

  /** {@link transact} after the tool's global `options` (e.g. `--wait=sb`); an empty batch runs nothing. */
  protected async transactWith(
    options: readonly string[],
    cmds: readonly Cmd[],
  ): Promise<string[]> {
    if (cmds.length === 0) return [];
    const stdout = await this.exec([...options, ...cmds.flatMap((cmd) => ['--', ...cmd])]);
    return stdout.split('\n').filter((l) => l.length > 0);
  }

  /** Lists a table (optionally some columns) as decoded rows. */
  async list(table: string, columns?: readonly string[]): Promise<OvsdbRow[]> {
    return this.read(['list', table], columns);
  }

  /** The rows of a table that match every `column=value` condition, decoded. */
  async find(
    table: string,
    conditions: readonly string[],
    columns?: readonly string[],
  ): Promise<OvsdbRow[]> {
    return this.read(['find', table, ...conditions], columns);
  }

  private async read(command: readonly string[], columns?: readonly string[]): Promise<OvsdbRow[]> {
    const args = ['--format=json'];
    if (columns) args.push(`--columns=${columns.join(',')}`);
    return parseTable(await this.exec([...args, ...command]));
  }

  /**
   * Waits until `record` of `table` exists and matches every condition (e.g.
   * `up=true`); the tool's own `--timeout` is `timeoutMs`, rounded up to
   * seconds. Rejects with an "unavailable" {@link OvnError} when it runs out.
   */
  async waitUntil(
    table: string,
    record: string,
    conditions: readonly string[],
    timeoutMs: number,
  ): Promise<void> {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    await this.exec(['wait-until', table, record, ...conditions], seconds);
  }
}
