/**
 * What the DNS server does with one decoded query: answer from the table, or
 * hand it to the upstream resolvers. Pure; the server does the I/O.
 */
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import type { DnsTable } from './table.js';

/** TTL of our answers (Docker's embedded DNS uses the same). */
export const ANSWER_TTL_SECONDS = 600;
/** The UDP payload size we announce in our own OPT record (the DNS flag day's value). */
export const EDNS_PAYLOAD_SIZE = 1232;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;
const FLAG_QR = 1 << 15;
const FLAG_AA = 1 << 10;
const FLAG_RD = 1 << 8;
const FLAG_RA = 1 << 7;
const OPCODE_QUERY = 0;

/** The server's decision for one query. */
export type QueryDecision =
  | { kind: 'reply'; packet: Packet }
  | { kind: 'forward' }
  | { kind: 'drop' };

/** Whether the query carries an EDNS OPT record. */
export function hasEdns(query: DecodedPacket): boolean {
  return (query.additionals ?? []).some((record) => record.type === 'OPT');
}

/**
 * A response to `query` with the given rcode and answers; `authoritative` sets
 * AA, `recursion` sets RA. An EDNS query gets an OPT record back (RFC 6891).
 */
export function buildReply(
  query: DecodedPacket,
  rcode: number,
  answers: Answer[] = [],
  authoritative = false,
  recursion = true,
): Packet {
  const flags = (query.flags ?? 0) & FLAG_RD;
  const packet: Packet = {
    type: 'response',
    id: query.id ?? 0,
    flags: flags | (recursion ? FLAG_RA : 0) | (authoritative ? FLAG_AA : 0) | (rcode & 0xf),
    questions: query.questions ?? [],
    answers,
  };
  if (hasEdns(query)) {
    packet.additionals = [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_PAYLOAD_SIZE,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ];
  }
  return packet;
}

/**
 * A FORMERR reply built from the raw header of a query that does not decode,
 * or `undefined` when it has no complete header or is itself a response.
 */
export function formErrReply(raw: Buffer): Buffer | undefined {
  if (raw.length < 12) return undefined;
  const flags = raw.readUInt16BE(2);
  if (flags & FLAG_QR) return undefined;
  const reply = Buffer.alloc(12);
  reply.writeUInt16BE(raw.readUInt16BE(0), 0);
  reply.writeUInt16BE(FLAG_QR | (flags & (0x7800 | FLAG_RD)) | RCODE.FORMERR, 2);
  return reply;
}

/**
 * Decides how to treat `query`: A for a known name → its addresses; any other
 * type of a known name → NODATA (NOERROR, no answers); PTR of a container
 * address → `name.network`; unknown name → `forward` when upstreams exist,
 * else REFUSED at once. Responses are dropped; anything but a single-question
 * standard query gets FORMERR / NOTIMP.
 */
export function decideQuery(
  query: DecodedPacket,
  table: DnsTable,
  hasUpstreams: boolean,
  /** Sets AA on answers from the table; Docker's embedded server leaves it clear (nslookup: "Non-authoritative answer"). */
  authoritative = false,
): QueryDecision {
  if (query.type === 'response') return { kind: 'drop' };
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY) return { kind: 'reply', packet: buildReply(query, RCODE.NOTIMP) };
  const question = query.questions?.length === 1 ? query.questions[0] : undefined;
  if (!question) return { kind: 'reply', packet: buildReply(query, RCODE.FORMERR) };
  const klass = question.class ?? 'IN';
  const inClass = klass === 'IN' || klass === 'ANY';
  if (question.type === 'PTR') {
    const names = table.lookupPtr(question.name);
    if (names !== undefined) {
      const answers: Answer[] = inClass
        ? names.map((data) => ({
            type: 'PTR',
            name: question.name,
            class: 'IN',
            ttl: ANSWER_TTL_SECONDS,
            data,
          }))
        : [];
      return { kind: 'reply', packet: buildReply(query, RCODE.NOERROR, answers, authoritative) };
    }
  }
  const addresses = table.lookup(question.name);
  if (addresses === undefined) {
    return hasUpstreams
      ? { kind: 'forward' }
      : { kind: 'reply', packet: buildReply(query, RCODE.REFUSED, [], false, false) };
  }
  if (question.type !== 'A' || !inClass) {
    return { kind: 'reply', packet: buildReply(query, RCODE.NOERROR, [], authoritative) };
  }
  const answers: Answer[] = addresses.map((ip) => ({
    type: 'A',
    name: question.name,
    class: 'IN',
    ttl: ANSWER_TTL_SECONDS,
    data: ip,
  }));
  return { kind: 'reply', packet: buildReply(query, RCODE.NOERROR, answers, authoritative) };
}

/** {@link decideQuery} of an authoritative server: an unknown name is NXDOMAIN (AA), never forwarded. */
export function decideAuthoritative(query: DecodedPacket, table: DnsTable): QueryDecision {
  const decision = decideQuery(query, table, true, true);
  if (decision.kind !== 'forward') return decision;
  return { kind: 'reply', packet: buildReply(query, RCODE.NXDOMAIN, [], true, false) };
}
