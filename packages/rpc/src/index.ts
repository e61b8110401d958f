/**
 * `@arca-net/rpc`: gRPC server start-up and middleware for the VM processes,
 * written once for the forwarder (container VM, `TAPForwarder` on vsock 5555)
 * and the controller (helper VM, `NetworkControl` on vsock 9999).
 *
 * ```ts
 * const rpc = await startRpcServer({
 *   listen: parseListenAddress('vsock', FORWARDER_CONTROL_PORT),
 *   name: 'forwarder',
 *   services: [rpcService(tapforwarder.TAPForwarderDefinition, implementation)],
 *   errorStatus: (error) =>
 *     error instanceof ForwarderError ? forwarderErrors[error.code].status : undefined,
 *   logger,
 * });
 * // … rpc.socketPath, rpc.health.set(name, status) …
 * await rpc.close();
 * ```
 *
 * What a caller gets, so that it only adds its service and its error table:
 * - the listen address (`vsock`, `vsock:PORT`, `unixdir:/DIR`): grpc-js listens
 *   on a Unix socket (`DIR/PORT.sock`, or a private one proxied from the vsock
 *   port through `@arca-net/vsock`);
 * - bounded input: every string, list and map of a request checked against
 *   {@link DEFAULT_REQUEST_BOUNDS} before the handler runs (INVALID_ARGUMENT),
 *   requests over {@link MAX_REQUEST_BYTES} refused by grpc-js;
 * - middleware: each call logged with `{method, reqId}`; every failure mapped
 *   to a status by the caller's classification, anything else INTERNAL (never
 *   nice-grpc's UNKNOWN);
 * - grpc.health.v1.Health per service: `Check` and `Watch` for `""` and each
 *   service's full name, `List`; SERVING while up, NOT_SERVING on close;
 * - server reflection v1 and v1alpha over `@arca-net/proto`'s descriptor set;
 * - grpc-js's own logging through pino;
 * - one `close()`.
 */

export {
  boundsMiddleware,
  checkBounds,
  DEFAULT_REQUEST_BOUNDS,
  MAX_REQUEST_BYTES,
  type RequestBounds,
} from './bounds.js';
export type { HealthStatuses } from './health.js';
export { type ListenAddress, ListenAddressError, parseListenAddress } from './listen.js';
export type { ErrorStatus } from './middleware.js';
export {
  MAX_RESPONSE_BYTES,
  type RpcServer,
  type RpcServerOptions,
  type RpcService,
  rpcService,
  startRpcServer,
} from './server.js';
