/**
 * grpc.health.v1.Health per service name: `Check` and `Watch` answer for the
 * whole server (`""`) and for each registered service by its full name, `List`
 * gives every status. Served from the definition `make proto` generates from
 * the `grpc-health-check` package's own health.proto (nice-grpc-server-health
 * has no `List`).
 */
import { health } from '@arca-net/proto';
import { type CallContext, ServerError, type ServiceImplementation, Status } from 'nice-grpc';

const ServingStatus = health.HealthCheckResponse_ServingStatus;
type ServingStatus = health.HealthCheckResponse_ServingStatus;

/** The serving status of the server (`""`) and of each service, and the streams watching them. */
export class HealthStatuses {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #wakers = new Set<() => void>();
  #ended = false;

  /** Registers the server (`""`) and each of `services` as NOT_SERVING. */
  constructor(services: readonly string[]) {
    for (const service of ['', ...services]) this.#statuses.set(service, ServingStatus.NOT_SERVING);
  }

  /** Sets the status of `service` (`""`: the whole server); its watchers get the change. */
  set(service: string, status: ServingStatus): void {
    if (this.#statuses.get(service) === status) return;
    this.#statuses.set(service, status);
    this.#wake();
  }

  /** Sets every registered service, `""` included. */
  setAll(status: ServingStatus): void {
    for (const service of this.#statuses.keys()) this.set(service, status);
  }

  /** The status of `service`, `undefined` when it is not registered. */
  get(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  /** Every registered service and its status, `""` included. */
  list(): ReadonlyMap<string, ServingStatus> {
    return new Map(this.#statuses);
  }

  /** The server is going away: every service NOT_SERVING, every Watch ends after saying so. */
  shutdown(): void {
    this.setAll(ServingStatus.NOT_SERVING);
    this.#ended = true;
    this.#wake();
  }

  /**
   * The status of `service` now (SERVICE_UNKNOWN when not registered) and after
   * each change, until `signal` aborts or {@link shutdown}.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus, void> {
    let wake: (() => void) | undefined;
    const waker = () => wake?.();
    this.#wakers.add(waker);
    signal.addEventListener('abort', waker);
    try {
      let sent: ServingStatus | undefined;
      for (;;) {
        const now = this.#statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
        if (now !== sent) {
          sent = now;
          yield now;
          continue; // the status may have changed while the stream was writing
        }
        if (this.#ended || signal.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      this.#wakers.delete(waker);
      signal.removeEventListener('abort', waker);
    }
  }

  #wake(): void {
    for (const waker of this.#wakers) waker();
  }
}

/** The grpc.health.v1.Health service over `statuses`. */
export function healthService(
  statuses: HealthStatuses,
): ServiceImplementation<health.HealthDefinition> {
  return {
    async check(request: health.HealthCheckRequest) {
      const status = statuses.get(request.service);
      if (status === undefined) {
        throw new ServerError(
          Status.NOT_FOUND,
          `unknown service ${JSON.stringify(request.service)}`,
        );
      }
      return { status };
    },
    async *watch(request: health.HealthCheckRequest, context: CallContext) {
      for await (const status of statuses.watch(request.service, context.signal)) {
        yield { status };
      }
    },
    async list() {
      const all: Record<string, health.HealthCheckResponse> = {};
      for (const [service, status] of statuses.list()) all[service] = { status };
      return { statuses: all };
    },
  };
}
