/**
 * Bounded input for every VM service, checked before any handler runs: each
 * string of a request at most `maxString` characters, each repeated field or
 * map at most `maxItems` entries, nesting at most `maxDepth` deep. Over a
 * bound is INVALID_ARGUMENT naming the field, with at most a short prefix of
 * the value. With the server's maximum message size (see server.ts) this
 * keeps one hostile or buggy request from costing the helper seconds of CPU,
 * megabytes of log, or a command line too long to run (`spawn E2BIG`).
 */
import { type CallContext, ServerError, type ServerMiddlewareCall, Status } from 'nice-grpc';

/** Bounds of {@link boundsMiddleware}. */
export interface RequestBounds {
  /** Characters of one string field (and of one map key). */
  maxString: number;
  /** Entries of one repeated field or map (labels, aliases, DNS records; policy rules have their own, lower bound). */
  maxItems: number;
  maxDepth: number;
}

/**
 * Defaults: larger than anything the host sends (its own bounds are in
 * packages/host/src/limits.ts), small enough that the worst request is cheap.
 */
export const DEFAULT_REQUEST_BOUNDS: RequestBounds = {
  maxString: 4096,
  // A network's DNS snapshot lists every container on it: up to the 10,000 data ports.
  maxItems: 10_000,
  maxDepth: 16,
};

/** Largest request message a VM service accepts, bytes (grpc-js default: 4 MiB). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

function prefix(value: string): string {
  return `${JSON.stringify(value.slice(0, 32))}${value.length > 32 ? '…' : ''}`;
}

/** The first bound `value` breaks, as a message naming the field; undefined when none. */
export function checkBounds(
  value: unknown,
  bounds: RequestBounds = DEFAULT_REQUEST_BOUNDS,
  path = 'request',
  depth = 0,
): string | undefined {
  if (typeof value === 'string') {
    return value.length > bounds.maxString
      ? `${path}: ${value.length} characters (at most ${bounds.maxString}), starting ${prefix(value)}`
      : undefined;
  }
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined;
  if (depth >= bounds.maxDepth) return `${path}: nested deeper than ${bounds.maxDepth}`;
  if (Array.isArray(value)) {
    if (value.length > bounds.maxItems) {
      return `${path}: ${value.length} entries (at most ${bounds.maxItems})`;
    }
    for (const [i, item] of value.entries()) {
      const bad = checkBounds(item, bounds, `${path}[${i}]`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  const entries = Object.entries(value);
  if (entries.length > bounds.maxItems) {
    return `${path}: ${entries.length} entries (at most ${bounds.maxItems})`;
  }
  for (const [key, item] of entries) {
    if (key.length > bounds.maxString) {
      return `${path}: a key of ${key.length} characters (at most ${bounds.maxString}), starting ${prefix(key)}`;
    }
    const bad = checkBounds(
      item,
      bounds,
      `${path}.${key.length > 32 ? prefix(key) : key}`,
      depth + 1,
    );
    if (bad) return bad;
  }
  return undefined;
}

/** A server middleware that refuses a unary request over `bounds` with INVALID_ARGUMENT. */
export function boundsMiddleware(bounds: RequestBounds = DEFAULT_REQUEST_BOUNDS) {
  return async function* checkRequestBounds<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ) {
    if (!call.requestStream) {
      const bad = checkBounds(call.request, bounds);
      if (bad) throw new ServerError(Status.INVALID_ARGUMENT, `request too large: ${bad}`);
    }
    return yield* call.next(call.request, context);
  };
}
