/**
 * ovs-appctl / ovn-appctl: commands to a running daemon through its control
 * socket (`-t <path>.ctl`), with the tool's own `--timeout`. Failures come out
 * classified ({@link OvnError}).
 */

import { runOvnTool } from './errors.js';
import { type ToolRunner, toolTimeoutSeconds } from './exec.js';

/** The appctl tools (the same program; ovn-appctl defaults to OVN's run directory). */
export type AppctlTool = 'ovs-appctl' | 'ovn-appctl';

/** Options of {@link Appctl}. */
export interface AppctlOptions {
  /** Process timeout (ms); the tool's own `--timeout` is a little below it. Default 30 s. */
  timeoutMs?: number;
}

/** Sends commands to OVS/OVN daemons. */
export class Appctl {
  private readonly timeout: string;
  constructor(
    private readonly run: ToolRunner,
    readonly tool: AppctlTool,
    options: AppctlOptions = {},
  ) {
    this.timeout = `--timeout=${toolTimeoutSeconds(options.timeoutMs ?? 30_000)}`;
  }

  /** Runs `command args…` on the daemon whose control socket is `target`; resolves with its output. */
  async call(target: string, command: string, ...args: string[]): Promise<string> {
    const argv = ['-t', target, this.timeout, command, ...args];
    return (await runOvnTool(this.run, this.tool, argv)).stdout;
  }
}
