/**
 * `@arca-net/dns`: the Docker-style DNS server (UDP and TCP, names from a
 * snapshot, PTR, EDNS, forwarding with a bounded deadline) shared by the
 * container VM's forwarder (127.0.0.11) and the helper's per-network resolvers.
 */
export {
  ANSWER_TTL_SECONDS,
  buildReply,
  decideAuthoritative,
  decideQuery,
  EDNS_PAYLOAD_SIZE,
  formErrReply,
  hasEdns,
  type QueryDecision,
  RCODE,
} from './answer.js';
export { DnsInputError } from './errors.js';
export {
  DEFAULT_FORWARD_TIMEOUT_MS,
  DnsServer,
  type DnsServerOptions,
  type DnsServerStats,
} from './server.js';
export {
  buildDnsTable,
  type DnsContainer,
  type DnsSnapshot,
  type DnsTable,
  emptyDnsTable,
  isValidDnsName,
  normalizeName,
  reverseName,
} from './table.js';
export {
  forwardQuery,
  parseResolvConf,
  parseUpstream,
  systemUpstreams,
  type Upstream,
  withoutSelf,
} from './upstream.js';
