/**
 * The listen address of a VM process's gRPC server: `vsock` (the default
 * port), `vsock:PORT`, or `unixdir:DIR` (the lab: gRPC on `DIR/<default port>.sock`,
 * beside the data ports of the same endpoint).
 */
import { isAbsolute } from 'node:path';
import type { ListenEndpoint } from '@arca-net/vsock';

/** Where a VM process listens: gRPC on `port` of `endpoint`, its data ports on that endpoint. */
export interface ListenAddress {
  endpoint: ListenEndpoint;
  port: number;
}

/** A listen address that does not parse. */
export class ListenAddressError extends Error {
  override readonly name = 'ListenAddressError';
}

/** The highest vsock port a listener can take (2^32-1 is VMADDR_PORT_ANY). */
const MAX_VSOCK_PORT = 0xffff_fffe;

/**
 * Parses `vsock`, `vsock:PORT` or `unixdir:/DIR`; `defaultPort` is the port of
 * `vsock` and `unixdir:` (the process's wire constant, e.g. FORWARDER_CONTROL_PORT).
 */
export function parseListenAddress(text: string, defaultPort: number): ListenAddress {
  if (text === 'vsock') return { endpoint: { kind: 'vsock' }, port: defaultPort };
  const vsock = /^vsock:(\d{1,10})$/.exec(text);
  if (vsock) {
    const port = Number(vsock[1]);
    if (port < 1 || port > MAX_VSOCK_PORT) {
      throw new ListenAddressError(
        `listen address ${text}: port out of range 1..${MAX_VSOCK_PORT}`,
      );
    }
    return { endpoint: { kind: 'vsock' }, port };
  }
  const dir = text.startsWith('unixdir:') ? text.slice('unixdir:'.length) : '';
  if (isAbsolute(dir) && !dir.includes('\0')) {
    return { endpoint: { kind: 'unixdir', dir }, port: defaultPort };
  }
  throw new ListenAddressError(
    `listen address ${JSON.stringify(text)}: expected vsock, vsock:PORT or unixdir:/DIR`,
  );
}
