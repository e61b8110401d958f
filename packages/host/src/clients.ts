/**
 * gRPC clients of the two VM-side services: the helper VM's NetworkControl
 * (vsock 9999) and a container VM's TAPForwarder (vsock 5555), reached
 * through a {@link VmEndpoint}. Every call gets a deadline, and UNAVAILABLE
 * (VM restarting, listener not bound yet) is retried with backoff for a
 * bounded time, so a helper restart never needs a host restart: grpc-js
 * channels reconnect by themselves (with short backoff, set here), and the
 * dial proxy dials anew per connection.
 */
import {
  FORWARDER_CONTROL_PORT,
  HELPER_CONTROL_PORT,
  health,
  network,
  tapforwarder,
} from '@arca-net/proto';
import { createDialProxy, type VmEndpoint } from '@arca-net/vsock';
import {
  type CallOptions,
  type Channel,
  type Client,
  ClientError,
  type ClientMiddlewareCall,
  createChannel,
  createClientFactory,
  Status,
} from 'nice-grpc';

export type NetworkControlClient = Client<typeof network.NetworkControlDefinition>;
export type TapForwarderClient = Client<typeof tapforwarder.TAPForwarderDefinition>;
export type HealthClient = Client<typeof health.HealthDefinition>;

/** Call policy of a client. */
export interface ClientOptions {
  /** Deadline of one attempt of a call, ms (default 10000). */
  deadlineMs?: number;
  /** For how long UNAVAILABLE is retried, ms (default 5000; 0 = never). */
  retryUnavailableMs?: number;
  /** Where dial proxies put their sockets (non-`unixdir` endpoints). */
  proxyDir?: string;
}

/** One service connection: its client, the health client on the same channel, and its cleanup. */
export interface ServiceConnection<C> {
  readonly client: C;
  readonly health: HealthClient;
  /** Closes the channel and, if any, the dial proxy. Idempotent. */
  close(): Promise<void>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Client middleware: a deadline per attempt (DEADLINE_EXCEEDED when it
 * passes) and bounded retries of UNAVAILABLE for unary calls. Every RPC of
 * both services is idempotent on its natural key, so a retry is safe.
 */
function deadlineAndRetry(deadlineMs: number, retryUnavailableMs: number) {
  return async function* middleware<Request, Response>(
    call: ClientMiddlewareCall<Request, Response>,
    options: CallOptions,
  ) {
    const retryUntil = Date.now() + retryUnavailableMs;
    let backoff = 50;
    for (;;) {
      const timeout = AbortSignal.timeout(deadlineMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        return yield* call.next(call.request, { ...options, signal });
      } catch (err) {
        if (timeout.aborted && !options.signal?.aborted) {
          throw new ClientError(
            call.method.path,
            Status.DEADLINE_EXCEEDED,
            `deadline of ${deadlineMs} ms exceeded`,
          );
        }
        const retriable =
          err instanceof ClientError &&
          err.code === Status.UNAVAILABLE &&
          !call.requestStream &&
          !call.responseStream &&
          !options.signal?.aborted &&
          Date.now() + backoff < retryUntil;
        if (!retriable) throw err;
        await sleep(backoff, options.signal);
        backoff = Math.min(backoff * 2, 1000);
      }
    }
  };
}

/** grpc-js reconnects a broken channel by itself; keep its backoff short (default grows to 120 s). */
const channelOptions = {
  'grpc.initial_reconnect_backoff_ms': 100,
  // nice-grpc reads this one as the timeout of one connection attempt (connect and
  // HTTP/2 SETTINGS; its connectTimeoutPatch), not as a backoff: at 100 ms an attempt
  // failed as UNAVAILABLE "Connection attempt timed out" whenever the machine was busy.
  'grpc.min_reconnect_backoff_ms': 5_000,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.enable_retries': 0,
  // Deliberate sizes: requests are small (limits.ts; the VMs refuse more than 1 MiB),
  // a ListBridges of a big helper may be large.
  'grpc.max_send_message_length': 1024 * 1024,
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
};

async function openChannel(
  endpoint: VmEndpoint,
  port: number,
  options: ClientOptions,
): Promise<{ channel: Channel; closeProxy?: () => Promise<void> }> {
  if (endpoint.kind === 'unixdir') {
    return {
      channel: createChannel(`unix://${endpoint.dir}/${port}.sock`, undefined, channelOptions),
    };
  }
  const proxy = await createDialProxy(
    endpoint,
    port,
    options.proxyDir ? { dir: options.proxyDir } : undefined,
  );
  return {
    channel: createChannel(`unix://${proxy.path}`, undefined, channelOptions),
    closeProxy: () => proxy.close(),
  };
}

async function connect<C>(
  endpoint: VmEndpoint,
  port: number,
  options: ClientOptions,
  makeClient: (factory: ReturnType<typeof createClientFactory>, channel: Channel) => C,
): Promise<ServiceConnection<C>> {
  const { channel, closeProxy } = await openChannel(endpoint, port, options);
  const factory = createClientFactory().use(
    deadlineAndRetry(options.deadlineMs ?? 10_000, options.retryUnavailableMs ?? 5_000),
  );
  let closed = false;
  return {
    client: makeClient(factory, channel),
    health: factory.create(health.HealthDefinition, channel),
    async close() {
      if (closed) return;
      closed = true;
      channel.close();
      await closeProxy?.();
    },
  };
}

/** Connects to the helper VM's NetworkControl on port 9999 of `endpoint`. */
export function connectNetworkControl(
  endpoint: VmEndpoint,
  options: ClientOptions = {},
): Promise<ServiceConnection<NetworkControlClient>> {
  return connect(endpoint, HELPER_CONTROL_PORT, options, (factory, channel) =>
    factory.create(network.NetworkControlDefinition, channel),
  );
}

/** Connects to a container VM's TAPForwarder on port 5555 of `endpoint`. */
export function connectTapForwarder(
  endpoint: VmEndpoint,
  options: ClientOptions = {},
): Promise<ServiceConnection<TapForwarderClient>> {
  return connect(endpoint, FORWARDER_CONTROL_PORT, options, (factory, channel) =>
    factory.create(tapforwarder.TAPForwarderDefinition, channel),
  );
}
