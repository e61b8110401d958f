/**
 * The forwarder's two server middlewares: error mapping (domain errors →
 * their gRPC status, anything else → INTERNAL) and request logging with
 * `{method, reqId}`. Written once, applied to every service.
 */
import type { Logger } from '@arca-net/log';
import { type CallContext, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc';
import { ForwarderError, forwarderErrors } from './errors.js';

/** The gRPC error a thrown value becomes. */
export function toServerError(error: unknown): ServerError {
  if (error instanceof ServerError) return error;
  if (error instanceof ForwarderError) {
    return new ServerError(forwarderErrors[error.code].status, error.message);
  }
  const text = error instanceof Error ? error.message : String(error);
  return new ServerError(Status.INTERNAL, text);
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

/** Logs each call's end (debug on success, warn on failure) with `{method, reqId}`. */
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
