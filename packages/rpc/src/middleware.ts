/**
 * The two server middlewares of every VM service, written once: request
 * logging with `{method, reqId}`, and error mapping (the caller's domain errors
 * → the status its table gives them, anything else → INTERNAL, never UNKNOWN).
 */
import type { Logger } from '@arca-net/log';
import { type CallContext, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc';

/**
 * A package's classification of its own errors: the gRPC status of a domain
 * error, `undefined` for anything that is not one (that becomes INTERNAL).
 */
export type ErrorStatus = (error: unknown) => Status | undefined;

/**
 * The gRPC error a thrown value becomes: a `ServerError` as it is, a classified
 * error with its status and message, anything else INTERNAL. The thrown value
 * stays as the `cause`, so the call's log line carries its stack.
 */
export function toServerError(error: unknown, statusOf: ErrorStatus): ServerError {
  if (error instanceof ServerError) return error;
  const mapped = new ServerError(
    statusOf(error) ?? Status.INTERNAL,
    error instanceof Error ? error.message : String(error),
  );
  mapped.cause = error;
  return mapped;
}

/** A middleware that maps every failure with {@link toServerError}. */
export function errorMappingMiddleware(statusOf: ErrorStatus) {
  return async function* errorMapping<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      throw toServerError(error, statusOf);
    }
  };
}

/** Logs each call's end (debug if ok, warn if failed) with `{method, reqId}` and its duration. */
export function loggingMiddleware(logger: Logger) {
  let nextId = 1;
  return async function* logging<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    const log = logger.child({ method: call.method.path, reqId: nextId++ });
    const started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    try {
      const result = yield* call.next(call.request, context);
      log.debug({ ms: ms() }, 'call ok');
      return result;
    } catch (error) {
      const status = error instanceof ServerError ? Status[error.code] : 'UNKNOWN';
      log.warn({ ms: ms(), status, err: error }, 'call failed');
      throw error;
    }
  };
}
