import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Socket } from 'node:net';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DnsInputError } from '../src/errors.js';
import { DnsServer } from '../src/server.js';
import { buildDnsTable, type DnsSnapshot, reverseName } from '../src/table.js';
import { parseResolvConf, parseUpstream, withoutSelf } from '../src/upstream.js';

const ID_WEB = 'a1b2c3d4e5f6'.padEnd(64, '0');
const snapshot: DnsSnapshot = {
  frontend: {
    containers: [
      { name: 'web', id: ID_WEB, ipAddress: '198.51.100.10', aliases: ['www', 'Site.Example'] },
      { name: 'db', id: '', ipAddress: '198.51.100.11', aliases: [] },
    ],
  },
  backend: {
    containers: [{ name: 'web', id: ID_WEB, ipAddress: '203.0.113.10', aliases: [] }],
  },
};

let nextId = 1;
const OPT = {
  type: 'OPT' as const,
  name: '.',
  udpPayloadSize: 4096,
  extendedRcode: 0,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: [],
};

function udpQuery(
  port: number,
  name: string,
  type: RecordType = 'A',
  edns = false,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const id = nextId++;
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no reply for ${name}`));
    }, 4000);
    socket.on('message', (message) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(message));
    });
    socket.send(
      dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type, name }],
        additionals: edns ? [OPT] : [],
      }),
      port,
      '127.0.0.1',
    );
  });
}

function tcpQuery(port: number, name: string, edns = false): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffered = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        socket.destroy();
        resolve(dnsPacket.decode(buffered.subarray(2)));
      }
    });
    socket.connect(port, '127.0.0.1', () =>
      socket.write(
        dnsPacket.streamEncode({
          type: 'query',
          id: 7,
          questions: [{ type: 'A', name }],
          additionals: edns ? [OPT] : [],
        }),
      ),
    );
  });
}

const rcodeOf = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
const addressesOf = (p: DecodedPacket) =>
  (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

describe('embedded DNS server', () => {
  let server: DnsServer;
  let upstream: UdpSocket;
  let upstreamPort = 0;
  let silentUpstream: UdpSocket;

  beforeAll(async () => {
    // Fake upstream: answers every A query with 192.0.2.53.
    upstream = createSocket('udp4');
    upstream.on('message', (message, remote) => {
      const query = dnsPacket.decode(message);
      const reply = dnsPacket.encode({
        type: 'response',
        id: query.id,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: query.questions,
        answers: [
          { type: 'A', name: query.questions?.[0]?.name ?? '', ttl: 5, data: '192.0.2.53' },
        ],
      });
      upstream.send(reply, remote.port, remote.address);
    });
    await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
    upstreamPort = upstream.address().port;
    silentUpstream = createSocket('udp4');
    await new Promise<void>((resolve) => silentUpstream.bind(0, '127.0.0.1', resolve));
    server = await DnsServer.start({ host: '127.0.0.1', port: 0, forwardTimeoutMs: 300 });
    server.setTable(buildDnsTable(snapshot));
  });

  afterAll(async () => {
    await server.close();
    upstream.close();
    silentUpstream.close();
  });

  it('answers A for names, aliases and ids, any case, with a trailing dot', async () => {
    const port = server.address.port;
    expect(addressesOf(await udpQuery(port, 'db'))).toEqual(['198.51.100.11']);
    expect(addressesOf(await udpQuery(port, 'WWW.'))).toEqual(['198.51.100.10']);
    expect(addressesOf(await udpQuery(port, 'site.example'))).toEqual(['198.51.100.10']);
    expect(addressesOf(await udpQuery(port, ID_WEB.slice(0, 12)))).toEqual([
      '198.51.100.10',
      '203.0.113.10',
    ]);
    const reply = await udpQuery(port, 'db');
    // As Docker's embedded server: no AA bit (nslookup prints "Non-authoritative answer", test/conformance).
    expect(reply.flag_aa).toBe(false);
    expect(rcodeOf(reply)).toBe('NOERROR');
  });

  it('answers every address of a name that is on several networks', async () => {
    const reply = await udpQuery(server.address.port, 'web');
    expect(addressesOf(reply)).toEqual(['198.51.100.10', '203.0.113.10']);
  });

  it('answers NODATA for AAAA and other types of a known name', async () => {
    for (const type of ['AAAA', 'MX', 'TXT'] as const) {
      const reply = await udpQuery(server.address.port, 'web', type);
      expect(rcodeOf(reply)).toBe('NOERROR');
      expect(reply.answers).toEqual([]);
    }
  });

  it('answers REFUSED at once for an unknown name without upstreams', async () => {
    server.setUpstreams([]);
    expect(rcodeOf(await udpQuery(server.address.port, 'nowhere.invalid'))).toBe('REFUSED');
  });

  it('answers name.network and the PTR of a container address as name.network', async () => {
    const port = server.address.port;
    expect(addressesOf(await udpQuery(port, 'web.backend'))).toEqual(['203.0.113.10']);
    expect(addressesOf(await udpQuery(port, 'WWW.frontend.'))).toEqual(['198.51.100.10']);
    const ptr = await udpQuery(port, reverseName('198.51.100.11'), 'PTR');
    expect(rcodeOf(ptr)).toBe('NOERROR');
    expect(addressesOf(ptr)).toEqual(['db.frontend']);
  });

  it('echoes an OPT record to EDNS queries, on UDP and TCP', async () => {
    const port = server.address.port;
    const udp = await udpQuery(port, 'db', 'A', true);
    expect(addressesOf(udp)).toEqual(['198.51.100.11']);
    expect((udp.additionals ?? []).map((r) => r.type)).toEqual(['OPT']);
    const tcp = await tcpQuery(port, 'db', true);
    expect(addressesOf(tcp)).toEqual(['198.51.100.11']);
    expect((tcp.additionals ?? []).map((r) => r.type)).toEqual(['OPT']);
    expect((await udpQuery(port, 'db')).additionals ?? []).toEqual([]);
  });

  it('listens on the same port for UDP and TCP', async () => {
    const other = await DnsServer.start({ host: '127.0.0.1', port: 0 });
    try {
      other.setTable(buildDnsTable(snapshot));
      expect(addressesOf(await tcpQuery(other.address.port, 'db'))).toEqual(['198.51.100.11']);
      expect(addressesOf(await udpQuery(other.address.port, 'db'))).toEqual(['198.51.100.11']);
    } finally {
      await other.close();
    }
  });

  it('answers SERVFAIL without waiting when the upstream refuses the port', async () => {
    const closed = createSocket('udp4');
    await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const slow = await DnsServer.start({ host: '127.0.0.1', port: 0, forwardTimeoutMs: 60_000 });
    try {
      slow.setUpstreams([{ host: '127.0.0.1', port }]);
      // With a 60 s deadline, only the ICMP "port unreachable" can end this before the test's 20 s.
      expect(rcodeOf(await udpQuery(slow.address.port, 'gone.example'))).toBe('SERVFAIL');
    } finally {
      await slow.close();
    }
  });

  it('forwards unknown names to the upstream', async () => {
    server.setUpstreams([{ host: '127.0.0.1', port: upstreamPort }]);
    const reply = await udpQuery(server.address.port, 'elsewhere.example');
    expect(addressesOf(reply)).toEqual(['192.0.2.53']);
    expect(server.stats.forwarded).toBeGreaterThan(0);
  });

  it('answers known names over TCP', async () => {
    expect(addressesOf(await tcpQuery(server.address.port, 'db'))).toEqual(['198.51.100.11']);
  });

  it('answers SERVFAIL when no upstream replies before the deadline', async () => {
    server.setUpstreams([{ host: '127.0.0.1', port: silentUpstream.address().port }]);
    expect(rcodeOf(await udpQuery(server.address.port, 'slow.example'))).toBe('SERVFAIL');
  });

  it('answers FORMERR to a query whose header reads but whose body does not', async () => {
    const socket = createSocket('udp4');
    const reply = await new Promise<Buffer>((resolve) => {
      socket.once('message', resolve);
      const junk = Buffer.alloc(20, 0xff);
      junk.writeUInt16BE(0x4242, 0);
      junk.writeUInt16BE(0x0100, 2);
      socket.send(junk, server.address.port, '127.0.0.1');
    });
    socket.close();
    expect(reply.readUInt16BE(0)).toBe(0x4242);
    expect(reply.readUInt16BE(2) & 0xf).toBe(1);
    expect(reply.readUInt16BE(2) & 0x8000).toBe(0x8000);
  });

  it('drops malformed queries and keeps serving', async () => {
    const socket = createSocket('udp4');
    for (const junk of [Buffer.from([1, 2, 3]), Buffer.alloc(40, 0xff), Buffer.alloc(0)]) {
      socket.send(junk, server.address.port, '127.0.0.1');
    }
    await vi.waitFor(() => expect(server.stats.dropped).toBeGreaterThanOrEqual(2), {
      timeout: 5000,
      interval: 10,
    });
    socket.close();
    expect(addressesOf(await udpQuery(server.address.port, 'db'))).toEqual(['198.51.100.11']);
  });
});

describe('DNS snapshot validation', () => {
  const bad: [string, DnsSnapshot][] = [
    [
      'bad IP',
      { n: { containers: [{ name: 'a', id: '', ipAddress: '10.0.0.300', aliases: [] }] } },
    ],
    [
      'IPv6 address',
      { n: { containers: [{ name: 'a', id: '', ipAddress: '2001:db8::1', aliases: [] }] } },
    ],
    [
      'bad name',
      { n: { containers: [{ name: 'a b', id: '', ipAddress: '10.0.0.1', aliases: [] }] } },
    ],
    [
      'empty name',
      { n: { containers: [{ name: '', id: '', ipAddress: '10.0.0.1', aliases: [] }] } },
    ],
    [
      'bad alias',
      { n: { containers: [{ name: 'a', id: '', ipAddress: '10.0.0.1', aliases: ['x..y'] }] } },
    ],
    [
      'short id',
      { n: { containers: [{ name: 'a', id: 'abc', ipAddress: '10.0.0.1', aliases: [] }] } },
    ],
  ];
  for (const [what, snap] of bad) {
    it(`rejects a snapshot with a ${what} as INVALID_ARGUMENT`, () => {
      expect(() => buildDnsTable(snap)).toThrow(DnsInputError);
      try {
        buildDnsTable(snap);
      } catch (error) {
        expect((error as DnsInputError).code).toBe('INVALID_ARGUMENT');
      }
    });
  }
});

describe('upstream resolvers', () => {
  it('parses ip and ip:port', () => {
    expect(parseUpstream('192.0.2.1')).toEqual({ host: '192.0.2.1', port: 53 });
    expect(parseUpstream('192.0.2.1:5353')).toEqual({ host: '192.0.2.1', port: 5353 });
    expect(parseUpstream('[2001:db8::1]:53')).toEqual({ host: '2001:db8::1', port: 53 });
    expect(parseUpstream('2001:db8::1')).toEqual({ host: '2001:db8::1', port: 53 });
    expect(() => parseUpstream('dns.example')).toThrow(DnsInputError);
    expect(() => parseUpstream('192.0.2.1:99999')).toThrow(DnsInputError);
  });

  it('reads nameservers from resolv.conf and skips 127.0.0.11', () => {
    const parsed = parseResolvConf(
      '# x\nsearch example\nnameserver 127.0.0.11\nnameserver 192.0.2.2\n',
    );
    expect(withoutSelf(parsed, undefined)).toEqual([{ host: '192.0.2.2', port: 53 }]);
  });
});
