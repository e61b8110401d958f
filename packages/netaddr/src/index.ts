/**
 * `@arca-net/netaddr`: IPv4 and MAC arithmetic, one copy for every package.
 */
export {
  type Cidr,
  cidrContains,
  cidrsOverlap,
  cidrWithin,
  formatCidr,
  formatIpv4,
  hostRange,
  lastAddress,
  maskOf,
  networkOf,
  parseCidrText,
  parseIpv4,
  resolverAddress,
  sameNetwork,
} from './ipv4.js';
export { formatMac, type MacProblem, parseMac, randomMac } from './mac.js';
