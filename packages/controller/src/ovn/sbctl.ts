/**
 * ovn-sbctl on the southbound database: chassis registration, and waiting
 * for ovn-controller to bind a logical port.
 */
import type { ToolRunner } from './exec.js';
import { str } from './json.js';
import { OvsdbCli, type OvsdbCliOptions } from './ovsdb.js';

/** ovn-sbctl on the southbound database. */
export class Sbctl extends OvsdbCli {
  constructor(run: ToolRunner, options: OvsdbCliOptions) {
    super(run, 'ovn-sbctl', options);
  }

  /** Names of the registered chassis. */
  async chassisNames(): Promise<string[]> {
    return (await this.list('Chassis', ['name'])).map((row) => str(row, 'name'));
  }

  /**
   * Waits until ovn-controller has bound `logicalPort` and reported it up;
   * rejects with an "unavailable" OvnError when `timeoutMs` runs out.
   */
  waitPortUp(logicalPort: string, timeoutMs: number): Promise<void> {
    return this.waitUntil('Port_Binding', logicalPort, ['up=true'], timeoutMs);
  }
}
