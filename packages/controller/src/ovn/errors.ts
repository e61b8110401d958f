/**
 * Failures of OVS/OVN, classified once, where a tool runs: *unavailable* when
 * the database or daemon cannot be reached (no socket, connection refused,
 * the tool's own `--timeout` or the process timeout, the tool missing),
 * *refused* when the tool ran and the database or daemon said no (constraint
 * violation, unknown name, bad syntax). Callers read `kind`, never stderr.
 */
import { type Tool, ToolError, type ToolResult, type ToolRunner } from './exec.js';

/** The two ways OVS/OVN can fail a command. */
export type OvnFailureKind = 'unavailable' | 'refused';

/**
 * stderr of a tool that could not reach its database or daemon (the real
 * texts are in test/fixtures/ovn/tool-failures.json).
 */
const UNREACHABLE =
  /database connection failed|cannot connect to|Connection refused|No such file or directory|timed out|transaction aborted|not connected/i;

/** A failed OVS/OVN command: its kind, and the tool's error (argv, exit code, stderr) as cause. */
export class OvnError extends Error {
  override readonly name = 'OvnError';
  constructor(
    readonly kind: OvnFailureKind,
    override readonly cause: ToolError,
  ) {
    super(cause.message, { cause });
  }
}

/** Which kind of failure a tool error is. */
export function classifyToolError(err: ToolError): OvnFailureKind {
  // No exit status: killed (the tool's --timeout is SIGALRM, the runner's is SIGKILL) or never started.
  if (err.timedOut || err.exitCode === null || err.signal !== null) return 'unavailable';
  return UNREACHABLE.test(err.stderr) ? 'unavailable' : 'refused';
}

/** Runs one tool invocation; a {@link ToolError} becomes an {@link OvnError}. */
export async function runOvnTool(
  run: ToolRunner,
  tool: Tool,
  args: readonly string[],
): Promise<ToolResult> {
  try {
    return await run(tool, args);
  } catch (err) {
    if (err instanceof ToolError) throw new OvnError(classifyToolError(err), err);
    throw err;
  }
}
