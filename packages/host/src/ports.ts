/**
 * The one allocator of data ports. An attachment owns container-side port P
 * in [20000, 30000) and helper-side port P + 10000; no two live attachments
 * share P. The allocator holds no state of its own worth persisting: it is
 * rebuilt from the attachments in the state store after a restart.
 */
import { DATA_PORT_LIMIT, DATA_PORT_MIN } from '@arca-net/proto';
import { errors } from './errors.js';

/**
 * Hands out ports round-robin (the next free one after the last handed out),
 * so a just-released port, whose old listener may still be closing in a VM,
 * is not reused at once.
 */
export class PortAllocator {
  readonly #used = new Set<number>();
  readonly #min: number;
  readonly #limit: number;
  #next: number;

  /** `inUse`: ports of attachments already persisted (re-derivation after restart). */
  constructor(inUse: Iterable<number> = [], range: { min?: number; limit?: number } = {}) {
    this.#min = range.min ?? DATA_PORT_MIN;
    this.#limit = range.limit ?? DATA_PORT_LIMIT;
    this.#next = this.#min;
    for (const port of inUse) this.reserve(port);
  }

  /** Takes the next free port; throws when all are in use. */
  allocate(): number {
    const span = this.#limit - this.#min;
    for (let i = 0; i < span; i++) {
      const port = this.#min + ((this.#next - this.#min + i) % span);
      if (!this.#used.has(port)) {
        this.#used.add(port);
        this.#next = port + 1 >= this.#limit ? this.#min : port + 1;
        return port;
      }
    }
    throw errors.portsExhausted();
  }

  /** Marks a known port as used (restoring persisted state); throws if out of range or taken. */
  reserve(port: number): void {
    if (!Number.isInteger(port) || port < this.#min || port >= this.#limit) {
      throw new RangeError(`data port ${port} outside [${this.#min}, ${this.#limit})`);
    }
    if (this.#used.has(port)) throw new RangeError(`data port ${port} is already in use`);
    this.#used.add(port);
  }

  /** Returns a port; releasing a free port is a no-op, so every exit path may call it. */
  release(port: number): void {
    this.#used.delete(port);
  }

  isUsed(port: number): boolean {
    return this.#used.has(port);
  }

  /** Ports in use, ascending. */
  used(): number[] {
    return [...this.#used].sort((a, b) => a - b);
  }
}
