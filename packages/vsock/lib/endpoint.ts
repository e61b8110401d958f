import { isAbsolute, join } from 'node:path';
import { invalid } from './errors.js';

/** How the host reaches vsock ports of one VM (ARCHITECTURE §3). */
export type VmEndpoint =
  | { kind: 'vsock'; cid: number }
  | { kind: 'hvsock'; path: string }
  | { kind: 'unixdir'; dir: string }
  | { kind: 'fd'; dial: (port: number, signal?: AbortSignal) => Promise<number> };

/** Where a guest process listens: AF_VSOCK (any local CID unless given) or a unixdir. */
export type ListenEndpoint = { kind: 'vsock'; cid?: number } | { kind: 'unixdir'; dir: string };

const U32_MAX = 0xffff_ffff;

function parseCid(text: string, whole: string): number {
  if (!/^\d{1,10}$/.test(text)) throw invalid(`bad vsock CID in '${whole}': expected a number`);
  const cid = Number(text);
  if (cid > U32_MAX) throw invalid(`bad vsock CID in '${whole}': above 2^32-1`);
  return cid;
}

function parsePath(text: string, whole: string): string {
  if (text === '' || !isAbsolute(text)) {
    throw invalid(`bad endpoint '${whole}': expected an absolute path`);
  }
  if (text.includes('\0')) throw invalid(`bad endpoint '${whole}': path contains NUL`);
  return text;
}

/** Parses 'vsock:3', 'hvsock:/path/v.sock' or 'unixdir:/dir'. Throws VsockError('EINVAL'). */
export function parseVmEndpoint(text: string): VmEndpoint {
  const colon = text.indexOf(':');
  const scheme = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (scheme) {
    case 'vsock':
      if (colon < 0 || rest === '') throw invalid(`bad endpoint '${text}': expected vsock:<cid>`);
      return { kind: 'vsock', cid: parseCid(rest, text) };
    case 'hvsock':
      return { kind: 'hvsock', path: parsePath(rest, text) };
    case 'unixdir':
      return { kind: 'unixdir', dir: parsePath(rest, text) };
    default:
      throw invalid(
        `bad endpoint '${text}': expected vsock:<cid>, hvsock:<socket path> or unixdir:<dir>`,
      );
  }
}

/** The text form of an endpoint ('fd' endpoints have none and give 'fd:'). */
export function formatVmEndpoint(endpoint: VmEndpoint): string {
  switch (endpoint.kind) {
    case 'vsock':
      return `vsock:${endpoint.cid}`;
    case 'hvsock':
      return `hvsock:${endpoint.path}`;
    case 'unixdir':
      return `unixdir:${endpoint.dir}`;
    case 'fd':
      return 'fd:';
  }
}

/** Parses 'vsock', 'vsock:any', 'vsock:<cid>' or 'unixdir:/dir'. Throws VsockError('EINVAL'). */
export function parseListenEndpoint(text: string): ListenEndpoint {
  if (text === 'vsock' || text === 'vsock:any') return { kind: 'vsock' };
  if (text.startsWith('vsock:')) return { kind: 'vsock', cid: parseCid(text.slice(6), text) };
  if (text.startsWith('unixdir:')) return { kind: 'unixdir', dir: parsePath(text.slice(8), text) };
  throw invalid(
    `bad listen endpoint '${text}': expected vsock, vsock:any, vsock:<cid> or unixdir:<dir>`,
  );
}

/** Checks a vsock port number (0..2^32-2; 2^32-1 is VMADDR_PORT_ANY). */
export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port >= U32_MAX) {
    throw invalid(`bad vsock port ${port}: expected an integer 0..4294967294`);
  }
  return port;
}

/** Path of port P in a unixdir: `${dir}/${P}.sock`. */
export function unixdirPath(dir: string, port: number): string {
  return join(dir, `${checkPort(port)}.sock`);
}
