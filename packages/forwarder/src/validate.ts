/**
 * Edge validation of TAPForwarder requests: one function per message, each
 * returning the typed parameters the domain trusts, or throwing INVALID_ARGUMENT.
 */
import { isIPv4 } from 'node:net';
import type { tapforwarder } from '@arca-net/proto';
import { invalidArgument } from './errors.js';

/** Validated `AttachNetworkRequest`. `ipAddress === ''` selects DHCP; `mac === ''` a random one. */
export interface AttachParams {
  device: string;
  vsockPort: number;
  ipAddress: string;
  gateway: string;
  prefixLength: number;
  mac: string;
  defaultRoute: boolean;
  mtu: number;
}

export const DATA_PORT_MIN = 20000;
export const DATA_PORT_MAX = 30000; // exclusive
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Linux's rule for interface names (dev_valid_name): 1–15 bytes, not . or .., no '/', ':' or space. */
export function validateDeviceName(device: string): string {
  if (device.length === 0) throw invalidArgument('device name is empty');
  if (Buffer.byteLength(device) > 15) {
    throw invalidArgument(`device name ${JSON.stringify(device)} is longer than 15 bytes`);
  }
  if (device === '.' || device === '..' || /[/:\s]/.test(device)) {
    throw invalidArgument(
      `device name ${JSON.stringify(device)} may not contain '/', ':' or spaces`,
    );
  }
  return device;
}

/** Lower-cases a unicast MAC; rejects malformed, multicast/broadcast and all-zero ones. */
export function validateMac(mac: string): string {
  const lower = mac.toLowerCase();
  if (!MAC.test(lower))
    throw invalidArgument(`MAC ${JSON.stringify(mac)} is not aa:bb:cc:dd:ee:ff`);
  if (Number.parseInt(lower.slice(0, 2), 16) & 1) {
    throw invalidArgument(`MAC ${mac} is a multicast address`);
  }
  if (lower === '00:00:00:00:00:00') throw invalidArgument('MAC 00:00:00:00:00:00 is not usable');
  return lower;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** Whether `a` and `b` share the first `prefix` bits. */
export function sameSubnet(a: string, b: string, prefix: number): boolean {
  if (prefix === 0) return true;
  const mask = prefix === 32 ? 0xffffffff : (~0 << (32 - prefix)) >>> 0;
  return (ipv4ToInt(a) & mask) >>> 0 === (ipv4ToInt(b) & mask) >>> 0;
}

/** Validates an AttachNetwork request (netmask 0 = 24, mtu 0 = 1500). */
export function validateAttach(request: tapforwarder.AttachNetworkRequest): AttachParams {
  const device = validateDeviceName(request.device);
  const port = request.vsockPort;
  if (!Number.isInteger(port) || port < DATA_PORT_MIN || port >= DATA_PORT_MAX) {
    throw invalidArgument(`vsock_port ${port} is outside [${DATA_PORT_MIN}, ${DATA_PORT_MAX})`);
  }
  if (request.netmask > 32) throw invalidArgument(`netmask /${request.netmask} is above 32`);
  const prefixLength = request.netmask === 0 ? 24 : request.netmask;
  if (request.ipAddress !== '' && !isIPv4(request.ipAddress)) {
    throw invalidArgument(`ip_address ${JSON.stringify(request.ipAddress)} is not an IPv4 address`);
  }
  if (request.gateway !== '' && !isIPv4(request.gateway)) {
    throw invalidArgument(`gateway ${JSON.stringify(request.gateway)} is not an IPv4 address`);
  }
  if (request.ipAddress !== '' && request.gateway !== '') {
    if (!sameSubnet(request.ipAddress, request.gateway, prefixLength)) {
      throw invalidArgument(
        `gateway ${request.gateway} is outside ${request.ipAddress}/${prefixLength}`,
      );
    }
  }
  if (request.defaultRoute && request.ipAddress !== '' && request.gateway === '') {
    throw invalidArgument('default_route needs a gateway');
  }
  const mtu = request.mtu === 0 ? 1500 : request.mtu;
  if (mtu < 68 || mtu > 65535) throw invalidArgument(`mtu ${request.mtu} is outside [68, 65535]`);
  return {
    device,
    vsockPort: port,
    ipAddress: request.ipAddress,
    gateway: request.gateway,
    prefixLength,
    mac: request.macAddress === '' ? '' : validateMac(request.macAddress),
    defaultRoute: request.defaultRoute,
    mtu,
  };
}
