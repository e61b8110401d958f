/**
 * IPv4 address management with Docker's rules: default pools, subnet /
 * gateway / ip-range validation, and the next free address of a network.
 * Pure functions over numbers; errors are {@link NetworkBackendError}s with
 * Docker's wording.
 */
import {
  type Cidr,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIpv4,
  hostRange,
  lastAddress,
  networkOf,
  parseCidrText,
  parseIpv4,
  resolverAddress,
} from '@arca-net/netaddr';
import { errors } from './errors.js';

/** The validated IPAM settings of a network, in canonical text form. */
export interface NetworkAddressing {
  subnet: string;
  gateway: string;
  /** Empty when addresses come from the whole subnet. */
  ipRange: string;
}

/** Parses a CIDR that must not have host bits set (Docker's rule), throwing Docker's errors. */
export function parseCidr(text: string): Cidr {
  const parsed = parseCidrText(text);
  if (!parsed) throw errors.invalidCidr(text);
  const cidr = networkOf(parsed.addr, parsed.prefix);
  if (cidr.base !== parsed.addr) throw errors.subnetHostBits(text, formatCidr(cidr));
  return cidr;
}

/**
 * Docker's default local address pools, in the order Docker hands them out:
 * 172.18.0.0/16 … 172.31.0.0/16 (172.17 is the default bridge), then
 * 192.168.0.0/20, 192.168.16.0/20 … 192.168.240.0/20.
 */
export function defaultPools(): Cidr[] {
  const pools: Cidr[] = [];
  for (let second = 18; second <= 31; second++) {
    pools.push({ base: ((172 << 24) | (second << 16)) >>> 0, prefix: 16 });
  }
  for (let third = 0; third < 256; third += 16) {
    pools.push({ base: ((192 << 24) | (168 << 16) | (third << 8)) >>> 0, prefix: 20 });
  }
  return pools;
}

/** The first default pool that overlaps none of `inUse`; throws Docker's "could not find an available…". */
export function allocateSubnet(inUse: readonly string[]): Cidr {
  const used = inUse.map(parseCidr);
  for (const pool of defaultPools()) {
    if (!used.some((u) => cidrsOverlap(u, pool))) return pool;
  }
  throw errors.poolsExhausted();
}

/**
 * Validates a network's requested addressing against Docker's rules and the
 * subnets already in use, filling defaults: a subnet from the default pools
 * when none is given, the gateway = first host address.
 */
export function planNetworkAddressing(
  request: { subnet?: string; gateway?: string; ipRange?: string },
  subnetsInUse: readonly string[],
): NetworkAddressing {
  if (!request.subnet && (request.gateway || request.ipRange)) {
    throw errors.invalidOption('gateway and ip-range require a subnet to be given (--subnet)');
  }
  let subnet: Cidr;
  if (request.subnet) {
    subnet = parseCidr(request.subnet);
    if (subnet.prefix > 30) {
      throw errors.invalidOption(
        `invalid subnet ${request.subnet}: a /${subnet.prefix} has no room for hosts`,
      );
    }
    const reserved = RESERVED_RANGES.find(([range]) => cidrsOverlap(range, subnet));
    if (reserved) throw errors.reservedSubnet(request.subnet, reserved[1]);
    if (subnetsInUse.map(parseCidr).some((u) => cidrsOverlap(u, subnet)))
      throw errors.poolOverlap();
  } else {
    subnet = allocateSubnet(subnetsInUse);
  }
  const subnetText = formatCidr(subnet);

  let ipRange = '';
  if (request.ipRange) {
    const loose = parseCidrText(request.ipRange);
    if (!loose) throw errors.invalidCidr(request.ipRange);
    const range = networkOf(loose.addr, loose.prefix);
    if (range.base !== loose.addr) {
      throw errors.invalidIpRange(request.ipRange, `it should be ${formatCidr(range)}`);
    }
    if (range.prefix < subnet.prefix) {
      throw errors.invalidIpRange(
        request.ipRange,
        `CIDR block is bigger than its parent subnet ${subnetText}`,
      );
    }
    if (!cidrsOverlap(subnet, range)) {
      throw errors.invalidIpRange(
        request.ipRange,
        `parent subnet ${subnetText} doesn't contain ip-range`,
      );
    }
    ipRange = formatCidr(range);
  }

  let gateway: number;
  if (request.gateway) {
    const parsed = parseIpv4(request.gateway);
    if (parsed === undefined) throw errors.invalidGateway(request.gateway, 'not an IPv4 address');
    if (!cidrContains(subnet, parsed)) {
      throw errors.invalidGateway(
        request.gateway,
        `parent subnet ${subnetText} doesn't contain this address`,
      );
    }
    if (parsed === subnet.base || parsed === lastAddress(subnet)) {
      throw errors.invalidGateway(
        request.gateway,
        `it is the network or broadcast address of ${subnetText}`,
      );
    }
    gateway = parsed;
  } else {
    gateway = hostRange(subnet).first;
  }
  const addressing = { subnet: subnetText, gateway: formatIpv4(gateway), ipRange };
  if (ipRange && request.ipRange) {
    try {
      nextFreeIp(addressing, new Set(), '');
    } catch {
      throw errors.invalidIpRange(
        request.ipRange,
        'it leaves no address for containers besides the gateway (and the resolver)',
      );
    }
  }
  return addressing;
}

/** Ranges no network may overlap (they mean something else to every IP stack). */
const RESERVED_RANGES: ReadonlyArray<readonly [Cidr, string]> = [
  [{ base: 0, prefix: 8 }, '0.0.0.0/8 ("this network")'],
  [{ base: (127 << 24) >>> 0, prefix: 8 }, 'the loopback range 127.0.0.0/8'],
  [{ base: ((169 << 24) | (254 << 16)) >>> 0, prefix: 16 }, 'the link-local range 169.254.0.0/16'],
  [{ base: (224 << 24) >>> 0, prefix: 4 }, 'the multicast range 224.0.0.0/4'],
  [{ base: 0xffffffff, prefix: 32 }, 'the broadcast address 255.255.255.255'],
];

/** The addressing of one network as IPAM sees it when allocating. */
export interface AllocationScope {
  subnet: string;
  gateway: string;
  ipRange: string;
}

/**
 * Checks a requested static IP (`--ip`): well-formed, inside the subnet and the
 * ip-range, not the network/broadcast address, not the gateway, not in `taken`.
 * Returns its canonical text.
 */
export function checkStaticIp(
  ip: string,
  scope: AllocationScope,
  taken: ReadonlySet<string>,
): string {
  const addr = parseIpv4(ip);
  if (addr === undefined) throw errors.invalidIp(ip);
  const subnet = parseCidr(scope.subnet);
  // Docker accepts a static address anywhere in the subnet, also outside --ip-range.
  if (!cidrContains(subnet, addr)) throw errors.ipNotInSubnet(ip);
  if (addr === subnet.base || addr === lastAddress(subnet)) throw errors.ipNotInSubnet(ip);
  const text = formatIpv4(addr);
  if (text === scope.gateway || taken.has(text)) throw errors.addressInUse();
  // The helper's resolver of the network (the DHCP lease's DNS server) holds it.
  if (addr === resolverOf(scope)) throw errors.addressInUse();
  return text;
}

/**
 * The lowest free address of the network's pool (its ip-range, else its
 * subnet), skipping the network and broadcast addresses, the gateway and `taken`.
 */
export function nextFreeIp(
  scope: AllocationScope,
  taken: ReadonlySet<string>,
  networkName: string,
): string {
  const subnet = parseCidr(scope.subnet);
  const pool = scope.ipRange ? parseCidr(scope.ipRange) : subnet;
  const first = Math.max(pool.base, subnet.base + 1);
  const last = Math.min(lastAddress(pool), lastAddress(subnet) - 1);
  const resolver = resolverOf(scope);
  for (let addr = first; addr <= last; addr++) {
    const text = formatIpv4(addr);
    if (text !== scope.gateway && addr !== resolver && !taken.has(text)) return text;
  }
  throw errors.noFreeAddress(networkName);
}

/** The address of the network's resolver in the helper (never a container's). */
function resolverOf(scope: AllocationScope): number | undefined {
  const gateway = parseIpv4(scope.gateway);
  return gateway === undefined ? undefined : resolverAddress(parseCidr(scope.subnet), gateway);
}

/** Prefix length of a CIDR text. */
export function prefixLength(cidr: string): number {
  return parseCidr(cidr).prefix;
}
