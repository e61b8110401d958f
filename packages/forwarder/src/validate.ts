/**
 * Edge validation of TAPForwarder requests: one function per message, each
 * returning the typed parameters the domain trusts, or throwing INVALID_ARGUMENT.
 */
import { parseIpv4, parseMac, sameNetwork } from '@arca-net/netaddr';
import { DATA_PORT_LIMIT, DATA_PORT_MIN, isDataPort, type tapforwarder } from '@arca-net/proto';
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
  /** Offload mode: the TAP with TSO/checksum offloads, virtio-net headers on the stream. */
  offload: boolean;
}

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
  const parsed = parseMac(mac);
  if ('mac' in parsed) return parsed.mac;
  switch (parsed.problem) {
    case 'malformed':
      throw invalidArgument(`MAC ${JSON.stringify(mac)} is not aa:bb:cc:dd:ee:ff`);
    case 'multicast':
      throw invalidArgument(`MAC ${mac} is a multicast address`);
    case 'zero':
      throw invalidArgument('MAC 00:00:00:00:00:00 is not usable');
  }
}

/** Validates an AttachNetwork request (netmask 0 = 24, mtu 0 = 1500). */
export function validateAttach(request: tapforwarder.AttachNetworkRequest): AttachParams {
  const device = validateDeviceName(request.device);
  const port = request.vsockPort;
  if (!isDataPort(port)) {
    throw invalidArgument(`vsock_port ${port} is outside [${DATA_PORT_MIN}, ${DATA_PORT_LIMIT})`);
  }
  if (request.netmask > 32) throw invalidArgument(`netmask /${request.netmask} is above 32`);
  const prefixLength = request.netmask === 0 ? 24 : request.netmask;
  const ip = request.ipAddress === '' ? undefined : parseIpv4(request.ipAddress);
  if (request.ipAddress !== '' && ip === undefined) {
    throw invalidArgument(`ip_address ${JSON.stringify(request.ipAddress)} is not an IPv4 address`);
  }
  const gateway = request.gateway === '' ? undefined : parseIpv4(request.gateway);
  if (request.gateway !== '' && gateway === undefined) {
    throw invalidArgument(`gateway ${JSON.stringify(request.gateway)} is not an IPv4 address`);
  }
  if (ip !== undefined && gateway !== undefined) {
    if (!sameNetwork(ip, gateway, prefixLength)) {
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
    offload: request.offload,
  };
}

/** Validates a SetDefaultRoute request: device '' = none; the gateway, when given, is IPv4. */
export function validateSetDefaultRoute(request: tapforwarder.SetDefaultRouteRequest): {
  device: string;
  gateway: string;
} {
  if (request.device === '') return { device: '', gateway: '' };
  const device = validateDeviceName(request.device);
  if (request.gateway !== '' && parseIpv4(request.gateway) === undefined) {
    throw invalidArgument(`gateway ${JSON.stringify(request.gateway)} is not an IPv4 address`);
  }
  return { device, gateway: request.gateway };
}
