/**
 * Errors of Docker's API: an HTTP status and `{"message": …}`. The host's
 * errors keep their message (Docker's wording) and get the status of their
 * kind, the same table as the lab API's.
 */
import { isBackendError } from '@arca-net/host';
import { STATUS_OF_KIND } from '../api/routes.js';

/** A failure with Docker's status code and message. */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The status and message of any failure, as Docker's daemon would answer. */
export function dockerErrorOf(error: unknown): { status: number; message: string } {
  if (error instanceof DockerApiError) return { status: error.status, message: error.message };
  if (isBackendError(error)) {
    // Docker's sentence ends with a space after "network" (daemon/network.go); keep it.
    const message =
      error.code === 'PREDEFINED_NETWORK' && error.message.startsWith('operation is not permitted')
        ? `${error.message} `
        : error.message;
    return { status: STATUS_OF_KIND[error.kind], message };
  }
  return { status: 500, message: error instanceof Error ? error.message : String(error) };
}

export const notFound = (message: string) => new DockerApiError(404, message);
export const badRequest = (message: string) => new DockerApiError(400, message);
export const forbidden = (message: string) => new DockerApiError(403, message);
