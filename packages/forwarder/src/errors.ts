/**
 * The forwarder's domain errors: one table of codes, each with the gRPC status
 * it maps to (the error-mapping middleware reads it; nothing else decides a status).
 * INVALID_ARGUMENT, NOT_FOUND and ALREADY_EXISTS are facts about the request;
 * failures of the kernel or a tool are INTERNAL or UNAVAILABLE.
 */
import { Status } from 'nice-grpc';

export const forwarderErrors = {
  /** A request field is malformed or out of range. */
  INVALID_ARGUMENT: { status: Status.INVALID_ARGUMENT },
  /** The device is not attached. */
  DEVICE_NOT_FOUND: { status: Status.NOT_FOUND },
  /** The device is attached with other parameters, or the port belongs to another device. */
  ATTACHMENT_CONFLICT: { status: Status.ALREADY_EXISTS },
  /** Creating or configuring the TAP failed in the kernel. */
  TAP_FAILED: { status: Status.INTERNAL },
  /** The data port could not be bound (e.g. taken by another process). */
  LISTEN_FAILED: { status: Status.UNAVAILABLE },
  /** An `ip` command failed; the message carries its argv and stderr. */
  NETCONF_FAILED: { status: Status.INTERNAL },
} as const;

export type ForwarderErrorCode = keyof typeof forwarderErrors;

/** A failure the forwarder understands; `code` selects its gRPC status. */
export class ForwarderError extends Error {
  readonly code: ForwarderErrorCode;

  constructor(code: ForwarderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForwarderError';
    this.code = code;
  }
}

/** Shorthand for the most common domain error. */
export function invalidArgument(message: string): ForwarderError {
  return new ForwarderError('INVALID_ARGUMENT', message);
}
