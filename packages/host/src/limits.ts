/**
 * Bounds of every string and list a caller hands the backend, checked before
 * any other work (a 1 MiB label key must cost nothing and never reach a VM).
 * Over a bound is INPUT_TOO_LARGE; messages quote at most a short prefix of
 * the value ({@link quote}). The helper's own bounds (packages/rpc) are at
 * least as large, so what passes here passes there.
 */
import type { ContainerSpec, CreateNetworkOptions } from './docker.js';
import { errors } from './errors.js';

/** The bounds (characters or entries). */
export const LIMITS = {
  /** A name, id, unique id prefix or other reference to an object. */
  ref: 256,
  /** An address-like value: IP, MAC, CIDR, driver name, port spec. */
  short: 128,
  labelKey: 128,
  labelValue: 1024,
  labels: 64,
  optionKey: 128,
  optionValue: 1024,
  options: 64,
  /** Aliases of one attachment; each is a DNS name (≤ 253). */
  aliases: 64,
  alias: 253,
  subnets: 8,
  /** Published port specs of one call. */
  publish: 64,
} as const;

/** At most `max` characters of `value` as JSON, with how long it really is when cut. */
export function quote(value: string, max = 32): string {
  return value.length <= max
    ? JSON.stringify(value)
    : `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}

/** INPUT_TOO_LARGE unless `value` is a string of at most `max` characters (undefined passes). */
export function checkLength(what: string, value: unknown, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'string') throw errors.invalidOption(`${what} must be a string`);
  if (value.length > max) {
    throw errors.inputTooLarge(`${what} ${quote(value)} is longer than ${max} characters`);
  }
}

/** INPUT_TOO_LARGE unless `list` has at most `max` entries (undefined passes). */
export function checkCount(what: string, list: readonly unknown[] | undefined, max: number): void {
  if (list !== undefined && list.length > max) {
    throw errors.inputTooLarge(`${what}: ${list.length} entries, at most ${max}`);
  }
}

/** Bounds of a string → string map (labels, driver options). */
function checkMap(
  what: string,
  map: Record<string, string> | undefined,
  bounds: { count: number; key: number; value: number },
): void {
  if (map === undefined) return;
  const entries = Object.entries(map);
  checkCount(what, entries, bounds.count);
  for (const [key, value] of entries) {
    checkLength(`${what} key`, key, bounds.key);
    checkLength(`${what} ${quote(key)}`, value, bounds.value);
  }
}

/** Every string and list of a network creation, bounded. */
export function checkCreateNetworkBounds(o: CreateNetworkOptions): void {
  // The name is checked by its own rule (1-63 characters, INVALID_NAME, a short quote).
  checkLength('driver', o.driver, LIMITS.short);
  checkLength('subnet', o.subnet, LIMITS.short);
  checkCount('subnets', o.subnets, LIMITS.subnets);
  for (const s of o.subnets ?? []) checkLength('subnet', s, LIMITS.short);
  checkLength('gateway', o.gateway, LIMITS.short);
  checkLength('ip-range', o.ipRange, LIMITS.short);
  checkMap('label', o.labels, {
    count: LIMITS.labels,
    key: LIMITS.labelKey,
    value: LIMITS.labelValue,
  });
  checkMap('option', o.options, {
    count: LIMITS.options,
    key: LIMITS.optionKey,
    value: LIMITS.optionValue,
  });
}

/** The strings of a container registration, bounded. */
export function checkContainerBounds(spec: Pick<ContainerSpec, 'id' | 'name'>): void {
  checkLength('container id', spec.id, LIMITS.ref);
  checkLength('container name', spec.name, LIMITS.ref);
}

/** The strings and lists of a connect, bounded. */
export function checkConnectBounds(o: {
  ip?: string;
  mac?: string;
  aliases?: readonly string[];
}): void {
  checkLength('ip', o.ip, LIMITS.short);
  checkLength('mac', o.mac, LIMITS.short);
  checkCount('aliases', o.aliases, LIMITS.aliases);
  for (const alias of o.aliases ?? []) checkLength('alias', alias, LIMITS.alias);
}

/** A reference to a network or container (name, id, id prefix), bounded. */
export function checkRef(what: string, ref: string): void {
  checkLength(what, ref, LIMITS.ref);
}
