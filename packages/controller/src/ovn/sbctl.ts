/**
 * ovn-sbctl reads: chassis registration and port bindings (is a logical
 * port bound and up?).
 */
import type { ToolRunner } from './exec.js';
import { toolTimeoutSeconds } from './exec.js';
import { bool, parseTable, str, strs } from './json.js';

/** A port binding as the SB database reports it. */
export interface PortBinding {
  logicalPort: string;
  /** Chassis uuid, '' when unbound. */
  chassis: string;
  up: boolean;
}

/** Options of {@link Sbctl}. */
export interface SbctlOptions {
  db: string;
  timeoutMs?: number;
}

/** Reads of the OVN southbound database. */
export class Sbctl {
  private readonly timeout: string;
  constructor(
    private readonly run: ToolRunner,
    private readonly options: SbctlOptions,
  ) {
    this.timeout = `--timeout=${toolTimeoutSeconds(options.timeoutMs ?? 30_000)}`;
  }

  private base(): string[] {
    return [`--db=${this.options.db}`, this.timeout, '--format=json'];
  }

  /** Names of the registered chassis. */
  async chassisNames(): Promise<string[]> {
    const { stdout } = await this.run('ovn-sbctl', [
      ...this.base(),
      '--columns=name',
      'list',
      'Chassis',
    ]);
    return parseTable(stdout).map((row) => str(row, 'name'));
  }

  /** The binding of one logical port, or undefined before northd created it. */
  async portBinding(logicalPort: string): Promise<PortBinding | undefined> {
    const { stdout } = await this.run('ovn-sbctl', [
      ...this.base(),
      '--columns=logical_port,chassis,up',
      'find',
      'Port_Binding',
      `logical_port=${JSON.stringify(logicalPort)}`,
    ]);
    const row = parseTable(stdout)[0];
    if (!row) return undefined;
    return {
      logicalPort: str(row, 'logical_port'),
      chassis: strs(row, 'chassis')[0] ?? '',
      up: bool(row, 'up'),
    };
  }
}
