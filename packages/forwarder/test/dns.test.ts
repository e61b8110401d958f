import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Socket } from 'node:net';
import dnsPacket, { type DecodedPacket, type RecordType } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../src/dns/server.js';
import { buildDnsTable, type DnsSnapshot } from '../src/dns/table.js';
import { parseResolvConf, parseUpstream, withoutSelf } from '../src/dns/upstream.js';
import { ForwarderError } from '../src/errors.js';

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
function udpQuery(port: number, name: string, type: RecordType = 'A'): Promise<DecodedPacket> {
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
      }),
      port,
      '127.0.0.1',
    );
  });
}

function tcpQuery(port: number, name: string): Promise<DecodedPacket> {
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
        dnsPacket.streamEncode({ type: 'query', id: 7, questions: [{ type: 'A', name }] }),
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
    expect(reply.flag_aa).toBe(true);
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

  it('answers NXDOMAIN at once for an unknown name without upstreams', async () => {
    server.setUpstreams([]);
    expect(rcodeOf(await udpQuery(server.address.port, 'nowhere.invalid'))).toBe('NXDOMAIN');
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

  it('drops malformed queries and keeps serving', async () => {
    const socket = createSocket('udp4');
    for (const junk of [Buffer.from([1, 2, 3]), Buffer.alloc(40, 0xff), Buffer.alloc(0)]) {
      socket.send(junk, server.address.port, '127.0.0.1');
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.close();
    expect(server.stats.dropped).toBeGreaterThanOrEqual(2);
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
      expect(() => buildDnsTable(snap)).toThrow(ForwarderError);
      try {
        buildDnsTable(snap);
      } catch (error) {
        expect((error as ForwarderError).code).toBe('INVALID_ARGUMENT');
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
    expect(() => parseUpstream('dns.example')).toThrow(ForwarderError);
    expect(() => parseUpstream('192.0.2.1:99999')).toThrow(ForwarderError);
  });

  it('reads nameservers from resolv.conf and skips 127.0.0.11', () => {
    const parsed = parseResolvConf(
      '# x\nsearch example\nnameserver 127.0.0.11\nnameserver 192.0.2.2\n',
    );
    expect(withoutSelf(parsed, undefined)).toEqual([{ host: '192.0.2.2', port: 53 }]);
  });
});
