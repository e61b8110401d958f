/**
 * The controller's domain errors: one table of codes, each with its gRPC
 * status. Request facts (bad input, unknown, taken, busy, used up) get their
 * own codes; failures of OVN/OVS or the data path are never reported as
 * request facts (NOT_FOUND, ALREADY_EXISTS, INVALID_ARGUMENT).
 */
import { Status } from 'nice-grpc';
import type { OvnFailureKind } from '../ovn/errors.js';

/** Every domain error code and the gRPC status it maps to. */
export const ERROR_CODES = {
  /** Malformed or out-of-range input. */
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  /** The network / attachment / published port does not exist. */
  NOT_FOUND: Status.NOT_FOUND,
  /** Name, subnet, IP, MAC or port taken, or an id reused with different parameters. */
  ALREADY_EXISTS: Status.ALREADY_EXISTS,
  /** The object is in a state that forbids the operation (network with endpoints). */
  FAILED_PRECONDITION: Status.FAILED_PRECONDITION,
  /**
   * A shared pool is used up: no address of the external network is left for
   * another non-internal network (each takes one). Freed by deleting a
   * network; not a fact about this request's values, nor a failure of OVN.
   */
  RESOURCE_EXHAUSTED: Status.RESOURCE_EXHAUSTED,
  /**
   * OVN/OVS cannot be reached: database or daemon down, no socket, connection
   * refused, timeout; or not ready (no chassis). The tool's stderr is in the message.
   */
  OVN_UNAVAILABLE: Status.UNAVAILABLE,
  /**
   * ovn-northd, which this helper runs, does not answer: a new port would
   * never be bound, so an attach fails at once instead of waiting for it.
   * The helper itself answered, so not UNAVAILABLE (the host would read
   * "helper VM unreachable"): the system is not in a state the operation needs.
   */
  OVN_NORTHD_DOWN: Status.FAILED_PRECONDITION,
  /**
   * OVN/OVS ran the command and refused it (constraint violation, syntax, a
   * missing row): our bug or a database changed behind our back. The tool's
   * stderr is in the message.
   */
  OVN_REFUSED: Status.INTERNAL,
  /** A failure that is our bug or an unexpected system error (e.g. the data path). */
  INTERNAL: Status.INTERNAL,
} as const;

/** A domain error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The code of each kind of OVS/OVN failure the driver reports. */
export const OVN_FAILURE_CODES = {
  unavailable: 'OVN_UNAVAILABLE',
  refused: 'OVN_REFUSED',
} as const satisfies Record<OvnFailureKind, ErrorCode>;

/** A typed domain error; the error-mapping middleware turns it into a gRPC status. */
export class ControllerError extends Error {
  override readonly name = 'ControllerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Shorthands that read like the rule they enforce. */
export const invalid = (message: string): ControllerError =>
  new ControllerError('INVALID_ARGUMENT', message);
export const notFound = (message: string): ControllerError =>
  new ControllerError('NOT_FOUND', message);
export const taken = (message: string): ControllerError =>
  new ControllerError('ALREADY_EXISTS', message);
export const busy = (message: string): ControllerError =>
  new ControllerError('FAILED_PRECONDITION', message);
export const exhausted = (message: string): ControllerError =>
  new ControllerError('RESOURCE_EXHAUSTED', message);
