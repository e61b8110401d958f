/**
 * What the embedded DNS server does with one decoded query: answer from the
 * table, or hand it to the upstream resolvers. Pure; the server does the I/O.
 */
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { DnsTable } from './table.js';

/** TTL of our answers (Docker's embedded DNS uses the same). */
export const ANSWER_TTL_SECONDS = 600;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
const FLAG_AA = 1 << 10;
const FLAG_RD = 1 << 8;
const FLAG_RA = 1 << 7;
const OPCODE_QUERY = 0;

/** The server's decision for one query. */
export type QueryDecision =
  | { kind: 'reply'; packet: Packet }
  | { kind: 'forward' }
  | { kind: 'drop' };

/**
 * A response to `query` with the given rcode and answers; `authoritative` sets AA.
 * RA is set since unknown names are forwarded.
 */
export function buildReply(
  query: DecodedPacket,
  rcode: number,
  answers: Answer[] = [],
  authoritative = false,
): Packet {
  const flags = (query.flags ?? 0) & FLAG_RD;
  return {
    type: 'response',
    id: query.id ?? 0,
    flags: flags | FLAG_RA | (authoritative ? FLAG_AA : 0) | (rcode & 0xf),
    questions: query.questions ?? [],
    answers,
  };
}

/**
 * Decides how to treat `query`: A for a known name → its addresses; any other
 * type of a known name → NODATA (NOERROR, no answers); unknown name →
 * `forward` when upstreams exist, else NXDOMAIN. Responses are dropped;
 * anything but a single-question standard query gets FORMERR / NOTIMP.
 */
export function decideQuery(
  query: DecodedPacket,
  table: DnsTable,
  hasUpstreams: boolean,
): QueryDecision {
  if (query.type === 'response') return { kind: 'drop' };
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY) return { kind: 'reply', packet: buildReply(query, RCODE.NOTIMP) };
  const question = query.questions?.length === 1 ? query.questions[0] : undefined;
  if (!question) return { kind: 'reply', packet: buildReply(query, RCODE.FORMERR) };
  const addresses = table.lookup(question.name);
  if (addresses === undefined) {
    return hasUpstreams
      ? { kind: 'forward' }
      : { kind: 'reply', packet: buildReply(query, RCODE.NXDOMAIN) };
  }
  const klass = question.class ?? 'IN';
  if (question.type !== 'A' || (klass !== 'IN' && klass !== 'ANY')) {
    return { kind: 'reply', packet: buildReply(query, RCODE.NOERROR, [], true) };
  }
  const answers: Answer[] = addresses.map((ip) => ({
    type: 'A',
    name: question.name,
    class: 'IN',
    ttl: ANSWER_TTL_SECONDS,
    data: ip,
  }));
  return { kind: 'reply', packet: buildReply(query, RCODE.NOERROR, answers, true) };
}
