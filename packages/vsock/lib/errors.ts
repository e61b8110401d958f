import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The error every function of @arca-net/vsock throws: `code` is 'EINVAL', 'ENOENT', … */
export class VsockError extends Error {
  readonly code: string;
  readonly errno?: number;
  readonly syscall?: string;

  constructor(
    code: string,
    message: string,
    options?: { errno?: number; syscall?: string; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VsockError';
    this.code = code;
    if (options?.errno !== undefined) this.errno = options.errno;
    if (options?.syscall !== undefined && options.syscall !== '') this.syscall = options.syscall;
  }
}

/** The errno name of a positive errno value ('ENOENT' for 2). */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Converts an error thrown by the addon (with `errno`, `syscall`) or Node into a VsockError. */
export function toVsockError(err: unknown, context?: string): VsockError {
  if (err instanceof VsockError) return err;
  const prefix = context ? `${context}: ` : '';
  if (err instanceof Error) {
    const e = err as Error & { errno?: unknown; syscall?: unknown; code?: unknown };
    let errno = typeof e.errno === 'number' ? Math.abs(e.errno) : undefined;
    let code = typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) ? e.code : undefined;
    if (code === undefined && errno !== undefined) code = errnoName(errno);
    if (errno === undefined && code !== undefined) {
      errno = (constants.errno as Record<string, number>)[code];
    }
    const options: { errno?: number; syscall?: string; cause: unknown } = { cause: err };
    if (errno !== undefined) options.errno = errno;
    if (typeof e.syscall === 'string') options.syscall = e.syscall;
    return new VsockError(code ?? 'EINVAL', `${prefix}${e.message}`, options);
  }
  return new VsockError('EINVAL', `${prefix}${String(err)}`);
}

/** Shorthand for argument errors. */
export function invalid(message: string): VsockError {
  return new VsockError('EINVAL', message, { errno: constants.errno.EINVAL });
}
