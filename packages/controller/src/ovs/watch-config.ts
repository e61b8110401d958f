/**
 * Configuration of the ovs-docker port manager (`arca-net ovs-docker watch`):
 * a JSON file, then the environment over it, then defaults.
 *
 * | key (file) | environment | default |
 * |---|---|---|
 * | `dockerSocket` | `ARCA_OVS_DOCKER_SOCKET`, else `DOCKER_HOST` (`unix://…`) | `/var/run/docker.sock` |
 * | `ovsdb` | `ARCA_OVS_DOCKER_OVSDB` | `unix:$OVS_RUNDIR/db.sock` (as ovs-vsctl) |
 * | `defaultBridge` | `ARCA_OVS_DOCKER_BRIDGE` | none (the label must name the bridge) |
 * | `defaultInterface` | `ARCA_OVS_DOCKER_INTERFACE` | `eth1` |
 * | `logLevel` | `ARCA_NET_LOG_LEVEL` | `info` |
 * | `metrics` | `ARCA_OVS_DOCKER_METRICS` (`PORT` or `HOST:PORT`) | off |
 * | `backoffMs` | — | `[500, 30000]` (first and largest reconnect delay) |
 */
import { readFile } from 'node:fs/promises';
import { defaultOvsdb } from './ovs-docker.js';

/** The labels a container opts in with. */
export const LABEL = {
  bridge: 'arca-net.ovs.bridge',
  iface: 'arca-net.ovs.interface',
  ip: 'arca-net.ovs.ip',
  mac: 'arca-net.ovs.mac',
  gateway: 'arca-net.ovs.gateway',
  mtu: 'arca-net.ovs.mtu',
  vlan: 'arca-net.ovs.vlan',
} as const;

export interface WatchConfig {
  dockerSocket: string;
  ovsdb: string;
  defaultBridge?: string;
  defaultInterface: string;
  logLevel: string;
  /** Where the Prometheus counters are served (`/metrics`), or undefined. */
  metrics?: { host: string; port: number };
  backoffMs: [number, number];
}

function parseMetrics(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? '127.0.0.1' : text.slice(0, colon);
  const port = Number(colon < 0 ? text : text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`metrics: "${text}" is not PORT or HOST:PORT`);
  }
  return { host, port };
}

/** Reads the file (when given) and the environment. */
export async function loadWatchConfig(
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<WatchConfig> {
  let fromFile: Partial<Record<keyof WatchConfig, unknown>> = {};
  if (file) {
    try {
      fromFile = JSON.parse(await readFile(file, 'utf8')) as typeof fromFile;
    } catch (error) {
      throw new Error(
        `cannot read the config file ${file}: ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  const text = (key: keyof WatchConfig, envValue: string | undefined): string | undefined =>
    envValue || (typeof fromFile[key] === 'string' ? (fromFile[key] as string) : undefined);
  const dockerHost = env.DOCKER_HOST?.startsWith('unix://') ? env.DOCKER_HOST.slice(7) : undefined;
  const metricsText =
    env.ARCA_OVS_DOCKER_METRICS ||
    (typeof fromFile.metrics === 'string' || typeof fromFile.metrics === 'number'
      ? String(fromFile.metrics)
      : undefined);
  const backoff = Array.isArray(fromFile.backoffMs) ? (fromFile.backoffMs as number[]) : [];
  return {
    dockerSocket:
      text('dockerSocket', env.ARCA_OVS_DOCKER_SOCKET || dockerHost) ?? '/var/run/docker.sock',
    ovsdb: text('ovsdb', env.ARCA_OVS_DOCKER_OVSDB) ?? defaultOvsdb(env),
    defaultBridge: text('defaultBridge', env.ARCA_OVS_DOCKER_BRIDGE),
    defaultInterface: text('defaultInterface', env.ARCA_OVS_DOCKER_INTERFACE) ?? 'eth1',
    logLevel: text('logLevel', env.ARCA_NET_LOG_LEVEL) ?? 'info',
    metrics: metricsText ? parseMetrics(metricsText) : undefined,
    backoffMs: [backoff[0] ?? 500, backoff[1] ?? 30_000],
  };
}
