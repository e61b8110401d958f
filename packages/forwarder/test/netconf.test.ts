import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ForwarderError } from '../src/errors.js';
import { maskToPrefix, obtainLease, parseLease } from '../src/netconf/dhcp.js';
import { CommandError, IpTool } from '../src/netconf/ip.js';

function recordingRunner(stdout = '') {
  const calls: string[][] = [];
  const run = async (file: string, args: readonly string[]) => {
    calls.push([file, ...args]);
    return stdout;
  };
  return { calls, run };
}

describe('ip wrapper', () => {
  it('runs exact argv arrays', async () => {
    const { calls, run } = recordingRunner();
    const ip = new IpTool(run);
    await ip.setAddress('eth0', '198.51.100.5', 24);
    await ip.setDefaultRoute('eth0', '198.51.100.1');
    await ip.flushAddresses('eth0');
    expect(calls).toEqual([
      ['ip', 'addr', 'replace', '198.51.100.5/24', 'dev', 'eth0'],
      ['ip', 'route', 'replace', 'default', 'via', '198.51.100.1', 'dev', 'eth0'],
      ['ip', '-4', 'addr', 'flush', 'dev', 'eth0'],
    ]);
  });

  it('reads addresses from ip -j output', async () => {
    const { run } = recordingRunner(
      JSON.stringify([{ ifname: 'eth0', addr_info: [{ local: '198.51.100.5', prefixlen: 24 }] }]),
    );
    expect(await new IpTool(run).addresses('eth0')).toEqual([
      { address: '198.51.100.5', prefixLength: 24 },
    ]);
  });

  it('reports a failing command as NETCONF_FAILED with its stderr', async () => {
    const ip = new IpTool(async (file, args) => {
      throw new CommandError([file, ...args], 2, 'Cannot find device "eth9"');
    });
    const error = await ip.linkUp('eth9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForwarderError);
    expect((error as ForwarderError).code).toBe('NETCONF_FAILED');
    expect((error as Error).message).toContain('Cannot find device "eth9"');
  });

  it('runs the real ip binary and reports its stderr', async () => {
    const error = await new IpTool().addresses('anf-missing0').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/anf-missing0/);
  });
});

describe('dhcp client', () => {
  it('converts netmasks to prefix lengths', () => {
    expect(maskToPrefix('255.255.255.0')).toBe(24);
    expect(maskToPrefix('255.255.0.0')).toBe(16);
    expect(maskToPrefix('255.255.255.255')).toBe(32);
    expect(maskToPrefix('0.0.0.0')).toBe(0);
    expect(maskToPrefix('255.0.255.0')).toBeUndefined();
  });

  it('parses the lease line of its script', () => {
    expect(
      parseLease(
        'udhcpc: started\nARCA_LEASE ip=198.51.100.9 subnet=255.255.255.0 router=198.51.100.1 dns=198.51.100.1 lease=3600\n',
      ),
    ).toEqual({
      address: '198.51.100.9',
      prefixLength: 24,
      router: '198.51.100.1',
      dns: ['198.51.100.1'],
      leaseSeconds: 3600,
    });
    expect(parseLease('udhcpc: no lease, failing\n')).toBeUndefined();
  });

  it('runs udhcpc in the foreground once per attempt until it gets a lease', async () => {
    const calls: string[][] = [];
    let attempt = 0;
    const lease = await obtainLease('eth1', {
      deadlineMs: 10_000,
      run: async (file, args) => {
        calls.push([file, ...args]);
        attempt++;
        if (attempt < 2) throw new CommandError([file], 1, 'no lease');
        return 'ARCA_LEASE ip=203.0.113.7 subnet=255.255.255.128 router= dns= lease=60\n';
      },
    });
    expect(lease).toEqual({ address: '203.0.113.7', prefixLength: 25, dns: [], leaseSeconds: 60 });
    expect(calls).toHaveLength(2);
    expect(calls[0]?.slice(0, 12)).toEqual([
      'busybox',
      'udhcpc',
      '-f',
      '-q',
      '-n',
      '-i',
      'eth1',
      '-t',
      '3',
      '-T',
      '1',
      '-s',
    ]);
  });

  it('gives up when the deadline passes', async () => {
    const error = await obtainLease('eth1', {
      deadlineMs: 300,
      run: async (file) => {
        throw new CommandError([file], 1, 'no lease');
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no DHCP lease on eth1/);
  });

  it('gives udhcpc an executable script, and removes its temp directory after a lease or a failure', async () => {
    const scripts: string[] = [];
    const runWith =
      (stdout: string) =>
      async (_file: string, args: readonly string[]): Promise<string> => {
        const script = args[args.indexOf('-s') + 1] ?? '';
        scripts.push(script);
        expect((await stat(script)).mode & 0o111).toBe(0o111);
        return stdout;
      };
    await obtainLease('eth1', {
      deadlineMs: 10_000,
      run: runWith('ARCA_LEASE ip=203.0.113.7 subnet=255.255.255.0 router= dns= lease=60\n'),
    });
    await obtainLease('eth1', { deadlineMs: 300, run: runWith('') }).catch(() => undefined);
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const script of scripts) {
      await expect(access(dirname(script))).rejects.toThrow(/ENOENT/);
    }
  });
});
