import { describe, expect, it } from 'vitest';
import { isBackendError } from '../src/errors.js';
import { formatBinding, parsePortFilter, parsePortSpec } from '../src/port-spec.js';

function refusal(spec: string): string {
  try {
    parsePortSpec(spec);
  } catch (err) {
    expect(isBackendError(err, 'INVALID_PORT_SPEC')).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`${spec} was accepted`);
}

describe('parsePortSpec', () => {
  it('reads every form Docker accepts', () => {
    expect(parsePortSpec('80')).toEqual([
      { hostIp: '0.0.0.0', hostPort: 0, hostPortEnd: 0, containerPort: 80, protocol: 'tcp' },
    ]);
    expect(parsePortSpec('8080:80')).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8080, hostPortEnd: 8080, containerPort: 80, protocol: 'tcp' },
    ]);
    expect(parsePortSpec('127.0.0.1:8080:80/udp')).toEqual([
      {
        hostIp: '127.0.0.1',
        hostPort: 8080,
        hostPortEnd: 8080,
        containerPort: 80,
        protocol: 'udp',
      },
    ]);
    expect(parsePortSpec('127.0.0.1::80')).toEqual([
      { hostIp: '127.0.0.1', hostPort: 0, hostPortEnd: 0, containerPort: 80, protocol: 'tcp' },
    ]);
    expect(parsePortSpec('0:80/TCP')[0]).toMatchObject({ hostPort: 0, protocol: 'tcp' });
  });

  it('expands equal ranges pairwise and treats a host range beside one port as a pool', () => {
    expect(parsePortSpec('9000-9001:80-81').map(formatBindingOf)).toEqual([
      '0.0.0.0:9000-9000->80/tcp',
      '0.0.0.0:9001-9001->81/tcp',
    ]);
    expect(parsePortSpec('9000-9010:80')).toEqual([
      { hostIp: '0.0.0.0', hostPort: 9000, hostPortEnd: 9010, containerPort: 80, protocol: 'tcp' },
    ]);
    expect(parsePortSpec('80-82').map((r) => r.containerPort)).toEqual([80, 81, 82]);
  });

  it("refuses bad specs in Docker's words", () => {
    expect(refusal('x')).toBe('Invalid containerPort: x');
    expect(refusal('8080:x')).toBe('Invalid containerPort: x');
    expect(refusal('0')).toBe('Invalid containerPort: 0');
    expect(refusal('70000')).toBe('Invalid containerPort: 70000');
    expect(refusal('x:80')).toBe('Invalid hostPort: x');
    expect(refusal('70000:80')).toBe('Invalid hostPort: 70000');
    expect(refusal('90-80:80')).toBe('Invalid hostPort: 90-80');
    expect(refusal('9000-9002:80-81')).toBe(
      'Invalid ranges specified for container and host Ports: 80-81 and 9000-9002',
    );
    expect(refusal('8080:80/sctp')).toBe('Invalid proto: sctp');
    expect(refusal('8080:')).toBe('No port specified: 8080:<empty>');
    expect(refusal('1.2.3:8080:80')).toBe('Invalid ip address: 1.2.3');
    expect(refusal('a:b:c:d')).toBe('Invalid hostPort: a:b:c:d');
  });
});

describe('parsePortFilter and formatBinding', () => {
  it('reads PORT[/PROTO] and prints what docker ps prints', () => {
    expect(parsePortFilter('80')).toEqual({ containerPort: 80, protocol: 'tcp' });
    expect(parsePortFilter('53/udp')).toEqual({ containerPort: 53, protocol: 'udp' });
    expect(() => parsePortFilter('0')).toThrow('Invalid containerPort: 0');
    expect(
      formatBinding({ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }),
    ).toBe('0.0.0.0:8080->80/tcp');
  });
});

function formatBindingOf(r: ReturnType<typeof parsePortSpec>[number]): string {
  return `${r.hostIp}:${r.hostPort}-${r.hostPortEnd}->${r.containerPort}/${r.protocol}`;
}
