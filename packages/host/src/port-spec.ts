/**
 * Docker's `-p` syntax: `[hostIP:][hostPort[-end]:]containerPort[-end][/tcp|/udp]`,
 * parsed with Docker's rules and wording (go-connections' ParsePortSpec as
 * Docker 20.10 prints it). One spec becomes one binding per container port;
 * host port 0 or omitted means "any free port", and a host range beside a
 * single container port is the range to pick that free port from.
 */
import { errors } from './errors.js';
import { checkCount, checkLength, LIMITS } from './limits.js';

/** Transport of a published port. */
export type PortProtocol = 'tcp' | 'udp';

/** One container port to publish, as the user asked for it. */
export interface PortRequest {
  /** Address the host listens on ('0.0.0.0' = every address). */
  hostIp: string;
  /** First acceptable host port; 0 = any free port. */
  hostPort: number;
  /** Last acceptable host port (equal to hostPort for a fixed port; 0 with hostPort 0). */
  hostPortEnd: number;
  containerPort: number;
  protocol: PortProtocol;
}

/** A published port as it is: Docker's `PortBinding` with the container port and protocol. */
export interface PortBinding {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: PortProtocol;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** "80" or "8000-8010" → [start, end]; undefined when not a range of 16-bit numbers. */
function parseRange(text: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

/**
 * Parses one `-p` value into the ports it publishes. Throws INVALID_PORT_SPEC
 * with Docker's sentence for anything Docker refuses, and for container port 0.
 */
export function parsePortSpec(spec: string): PortRequest[] {
  const slash = spec.lastIndexOf('/');
  const rawProto = slash >= 0 ? spec.slice(slash + 1) : 'tcp';
  const rest = slash >= 0 ? spec.slice(0, slash) : spec;
  const parts = rest.split(':');
  let hostIp = '';
  let hostPort = '';
  let containerPort = '';
  if (parts.length === 1) [containerPort = ''] = parts;
  else if (parts.length === 2) [hostPort = '', containerPort = ''] = parts;
  else if (parts.length === 3) [hostIp = '', hostPort = '', containerPort = ''] = parts;
  else throw errors.invalidPortSpec(`Invalid hostPort: ${rest}`);
  if (hostIp !== '' && !IPV4.test(hostIp)) {
    throw errors.invalidPortSpec(`Invalid ip address: ${hostIp}`);
  }
  if (containerPort === '') throw errors.invalidPortSpec(`No port specified: ${spec}<empty>`);
  const container = parseRange(containerPort);
  if (!container || container[0] === 0) {
    throw errors.invalidPortSpec(`Invalid containerPort: ${containerPort}`);
  }
  let host: [number, number] = [0, 0];
  if (hostPort !== '') {
    const parsed = parseRange(hostPort);
    if (!parsed) throw errors.invalidPortSpec(`Invalid hostPort: ${hostPort}`);
    host = parsed;
    const sameLength = container[1] - container[0] === host[1] - host[0];
    if (!sameLength && container[0] !== container[1]) {
      throw errors.invalidPortSpec(
        `Invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
      );
    }
  }
  const protocol = rawProto.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw errors.invalidPortSpec(`Invalid proto: ${rawProto}`);
  }
  const out: PortRequest[] = [];
  const count = container[1] - container[0] + 1;
  for (let i = 0; i < count; i++) {
    const dynamic = count === 1 && host[0] !== host[1];
    out.push({
      hostIp: hostIp === '' ? '0.0.0.0' : hostIp,
      hostPort: host[0] === 0 ? 0 : host[0] + i,
      hostPortEnd: host[0] === 0 ? 0 : dynamic ? host[1] : host[0] + i,
      containerPort: container[0] + i,
      protocol,
    });
  }
  return out;
}

/** Parses every `-p` value of a command line, in order. */
export function parsePortSpecs(specs: readonly string[]): PortRequest[] {
  checkCount('published ports', specs, LIMITS.publish);
  for (const s of specs) checkLength('port spec', s, LIMITS.short);
  return specs.flatMap((s) => parsePortSpec(s));
}

/**
 * `PORT[/PROTO]` of `docker port NAME PORT` → container port and protocol
 * (tcp by default), with Docker's wording for a bad one.
 */
export function parsePortFilter(text: string): { containerPort: number; protocol: PortProtocol } {
  checkLength('port filter', text, LIMITS.short);
  const [port = '', proto = 'tcp'] = text.split('/');
  const range = parseRange(port);
  if (!range || range[0] !== range[1] || range[0] === 0) {
    throw errors.invalidPortSpec(`Invalid containerPort: ${port}`);
  }
  const protocol = proto.toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') {
    throw errors.invalidPortSpec(`Invalid proto: ${proto}`);
  }
  return { containerPort: range[0], protocol };
}

/** Docker's `0.0.0.0:8080->80/tcp` (as `docker ps` shows a binding). */
export function formatBinding(b: PortBinding): string {
  return `${b.hostIp}:${b.hostPort}->${b.containerPort}/${b.protocol}`;
}
