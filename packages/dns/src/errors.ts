/** The one error of `@arca-net/dns`: a snapshot or an address that is malformed. */
export class DnsInputError extends Error {
  readonly code = 'INVALID_ARGUMENT' as const;

  constructor(message: string) {
    super(message);
    this.name = 'DnsInputError';
  }
}

export function invalidArgument(message: string): DnsInputError {
  return new DnsInputError(message);
}
