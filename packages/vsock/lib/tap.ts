import { closeSync } from 'node:fs';
import { invalid, toVsockError, VsockError } from './errors.js';
import { addon } from './native.js';

export interface TapOptions {
  /** Unicast MAC 'aa:bb:cc:dd:ee:ff' set exactly (default: the kernel's random one). */
  mac?: string;
  /** 68..65535 (default: the kernel's 1500). */
  mtu?: number;
  /** Bring the link up (default true). */
  up?: boolean;
  /**
   * Offload mode: IFF_VNET_HDR with a 12-byte virtio-net header on every read and write, and
   * checksum + TSO4/6 offloads (no USO: OVS 3.1 loses UDP GSO packets, src/tap.cc). Default false.
   */
  offload?: boolean;
}

/** TUNSETOFFLOAD bits as names (for logs and status). */
export function offloadNames(bits: number): string[] {
  const names: Array<[number, string]> = [
    [0x01, 'csum'],
    [0x02, 'tso4'],
    [0x04, 'tso6'],
    [0x08, 'tso-ecn'],
    [0x20, 'uso4'],
    [0x40, 'uso6'],
  ];
  return names.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
}

/** Checks a Linux interface name: 1–15 bytes, not '.'/'..', no '/', ':' or whitespace. */
export function checkInterfaceName(name: string): string {
  const bytes = Buffer.byteLength(name);
  if (bytes < 1 || bytes > 15) {
    throw invalid(`bad TAP name '${name}': must be 1–15 bytes (got ${bytes})`);
  }
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw invalid(
      `bad TAP name '${name}': must not be '.', '..' or contain '/', ':' or whitespace`,
    );
  }
  return name;
}

/** Parses 'aa:bb:cc:dd:ee:ff' (case-insensitive); rejects multicast and all-zero MACs. */
export function parseMac(text: string): Buffer {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(text)) {
    throw invalid(`bad MAC '${text}': expected six hex pairs like 02:00:00:aa:bb:cc`);
  }
  const bytes = Buffer.from(text.split(':').map((pair) => Number.parseInt(pair, 16)));
  if ((bytes[0]! & 1) === 1) throw invalid(`bad MAC '${text}': multicast, a NIC needs unicast`);
  if (bytes.every((b) => b === 0)) throw invalid(`bad MAC '${text}': all zero`);
  return bytes;
}

export function formatMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function checkMtu(mtu: number): number {
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw invalid(`bad MTU ${mtu}: expected an integer 68..65535`);
  }
  return mtu;
}

/** A TAP device (IFF_TAP | IFF_NO_PI, non-persistent): lives while its fd is open. */
export class TapDevice {
  readonly name: string;
  readonly mac: string;
  readonly ifindex: number;
  /** Offloads in effect ([] without offload mode): 'csum', 'tso4', 'tso6', 'tso-ecn', 'uso4', 'uso6'. */
  readonly offloads: string[];
  #fd: number;

  private constructor(name: string, fd: number, mac: string, ifindex: number, offloads: number) {
    this.name = name;
    this.#fd = fd;
    this.mac = mac;
    this.ifindex = ifindex;
    this.offloads = offloadNames(offloads);
  }

  /** Whether frames on this TAP carry a virtio-net header. */
  get offload(): boolean {
    return this.offloads.length > 0;
  }

  /**
   * Creates the TAP `name`, sets the exact MAC, the MTU, and brings it up (unless up: false).
   * Throws VsockError naming the device and errno.
   */
  static create(name: string, options?: TapOptions): TapDevice {
    checkInterfaceName(name);
    const mac = options?.mac === undefined ? null : parseMac(options.mac);
    const mtu = options?.mtu === undefined ? 0 : checkMtu(options.mtu);
    try {
      const tap = addon.tapCreate(name, mac, mtu, options?.up ?? true, options?.offload ?? false);
      return new TapDevice(name, tap.fd, formatMac(tap.mac), tap.ifindex, tap.offloads);
    } catch (err) {
      throw toVsockError(err);
    }
  }

  /** The TAP fd, owned by this object. */
  get fd(): number {
    if (this.#fd < 0) throw new VsockError('EBADF', `TAP ${this.name} is closed`);
    return this.#fd;
  }

  /** A dup() of the TAP fd owned by the caller (give it to a Relay). */
  dupFd(): number {
    try {
      return addon.dupFd(this.fd);
    } catch (err) {
      throw toVsockError(err, `TAP ${this.name}`);
    }
  }

  setMtu(mtu: number): void {
    checkMtu(mtu);
    try {
      addon.tapSetMtu(this.name, mtu);
    } catch (err) {
      throw toVsockError(err);
    }
  }

  /** Closes the fd; the kernel deletes the device once no dup is open. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}
