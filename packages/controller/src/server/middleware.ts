/**
 * The controller's two server middlewares, written once for every service:
 * request logging with `{method, reqId}`, and error mapping (domain errors →
 * the status in their table, anything else → INTERNAL, never UNKNOWN).
 */
import type { Logger } from '@arca-net/log';
import { type CallContext, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc';
import { ControllerError, ERROR_CODES } from '../domain/errors.js';

/** The gRPC error a thrown value becomes. */
export function toServerError(error: unknown): ServerError {
  if (error instanceof ServerError) return error;
  if (error instanceof ControllerError)
    return new ServerError(ERROR_CODES[error.code], error.message);
  return new ServerError(Status.INTERNAL, error instanceof Error ? error.message : String(error));
}

/** Maps every failure to a gRPC status from the error table. */
export async function* errorMappingMiddleware<Request, Response>(
  call: ServerMiddlewareCall<Request, Response>,
  context: CallContext,
) {
  try {
    return yield* call.next(call.request, context);
  } catch (error) {
    throw toServerError(error);
  }
}

/** Logs each call (debug on success, warn on failure) with `{method, reqId}` and its duration. */
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
      log.warn(
        { ms: ms(), status, err: error instanceof Error ? error.message : String(error) },
        'call failed',
      );
      throw error;
    }
  };
}
