/**
 * How a failed call to a VM's gRPC service becomes a host error. Each client
 * (the helper's NetworkControl in helper-client.ts, the containers'
 * TAPForwarder in forwarders.ts) has one table of (RPC, gRPC status) → error
 * code; a status its table does not list falls back to "unreachable" (the
 * service could not be reached or did not answer in time) or "failed" (it
 * answered with a failure). Either way the service's own message goes into
 * the error's message and the `ClientError` becomes its `cause`.
 */
import { ClientError, Status } from 'nice-grpc';
import type { ErrorCode, NetworkBackendError } from './errors.js';

/** Per RPC of a service, the statuses that mean something specific to the host, and the code each becomes. */
export type StatusTable<Rpc extends string, Code extends ErrorCode> = Readonly<
  Record<Rpc, Readonly<Partial<Record<Status, Code>>>>
>;

/** A classified failure of one call: a code of the table, or one of the two fallbacks. */
export interface RpcFailure<Code extends ErrorCode> {
  code: Code | 'unreachable' | 'failed';
  /** `<what>: <STATUS>: <the service's message>`, or the error's own message when it is not a gRPC status. */
  detail: string;
  cause?: unknown;
}

/** The reply fields of the mutating RPCs of both services (older servers may say `success = false`). */
interface Reply {
  success: boolean;
  error: string;
}

/** The error of a reply that says `success = false` despite an OK status, else undefined. */
function refusal(reply: object): string | undefined {
  if (!('success' in reply) || reply.success !== false) return undefined;
  const error = 'error' in reply && typeof reply.error === 'string' ? reply.error : '';
  return error || 'failed without an error message';
}

/** Statuses that say the service could not be reached or did not answer, rather than that it refused. */
const UNREACHABLE: ReadonlySet<Status> = new Set([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.CANCELLED,
]);

/** The one lookup of both tables: the row for (rpc, status), else the fallback for the status. */
function classifyRpcFailure<Rpc extends string, Code extends ErrorCode>(
  table: StatusTable<Rpc, Code>,
  rpc: Rpc,
  what: string,
  err: unknown,
): RpcFailure<Code> {
  if (!(err instanceof ClientError)) {
    return {
      code: 'failed',
      detail: `${what}: ${err instanceof Error ? err.message : String(err)}`,
      cause: err,
    };
  }
  const detail = `${what}: ${Status[err.code]}: ${err.details}`;
  const code = table[rpc][err.code] ?? (UNREACHABLE.has(err.code) ? 'unreachable' : 'failed');
  return { code, detail, cause: err };
}

/**
 * Runs one RPC and returns its reply. A rejected call is classified by
 * `table` and turned into a host error by `toError`; a reply that says
 * `success = false` with an OK status is a failure too.
 */
export async function callRpc<Rpc extends string, Code extends ErrorCode, T extends object>(
  table: StatusTable<Rpc, Code>,
  rpc: Rpc,
  what: string,
  call: () => Promise<T>,
  toError: (failure: RpcFailure<Code>) => NetworkBackendError,
): Promise<T> {
  let reply: T;
  try {
    reply = await call();
  } catch (err) {
    throw toError(classifyRpcFailure(table, rpc, what, err));
  }
  const refused = refusal(reply);
  if (refused !== undefined) throw toError({ code: 'failed', detail: `${what}: ${refused}` });
  return reply;
}

/** The reply of a remove RPC that found nothing to remove. */
export const NOTHING_REMOVED: Readonly<Reply> = Object.freeze({ success: true, error: '' });

/**
 * Removes are idempotent: NOT_FOUND from a remove RPC (DeleteBridge,
 * DetachContainer, DetachNetwork) means there was nothing to remove, and
 * resolves to {@link NOTHING_REMOVED}; anything else is rethrown.
 */
export function nothingToRemove(err: unknown): Readonly<Reply> {
  if (err instanceof ClientError && err.code === Status.NOT_FOUND) return NOTHING_REMOVED;
  throw err;
}
