/**
 * Docker's `--filter key=value` for `network ls` and `network prune`: values
 * of one key are alternatives, different keys must all match. An unknown key
 * is the host's INVALID_FILTER with Docker's wording.
 */
import { errors, type NetworkInspect } from '@arca-net/host';
import { UsageError } from './errors.js';

/** key → its values, in the order given. */
export type Filters = Map<string, string[]>;

/** Parses `key=value` texts, allowing only `keys`. */
export function parseFilters(texts: readonly string[], keys: readonly string[]): Filters {
  const filters: Filters = new Map();
  for (const text of texts) {
    const at = text.indexOf('=');
    if (at <= 0) throw new UsageError(`bad format of filter (expected name=value): ${text}`);
    const key = text.slice(0, at).trim();
    if (!keys.includes(key)) throw errors.invalidFilter(key);
    filters.set(key, [...(filters.get(key) ?? []), text.slice(at + 1)]);
  }
  return filters;
}

/** `label=k` (the label is set) or `label=k=v` (set to v). */
function hasLabel(labels: Readonly<Record<string, string>>, wanted: string): boolean {
  const at = wanted.indexOf('=');
  if (at < 0) return wanted in labels;
  const key = wanted.slice(0, at);
  return key in labels && labels[key] === wanted.slice(at + 1);
}

/** The keys `network ls` accepts. */
export const NETWORK_LS_FILTERS = ['name', 'id', 'driver', 'label'];

/** Whether `n` passes every filter (name and id match a part, as Docker's; driver exactly). */
export function networkMatches(n: NetworkInspect, filters: Filters): boolean {
  const checks: Record<string, (value: string) => boolean> = {
    name: (value) => n.Name.includes(value),
    id: (value) => n.Id.startsWith(value),
    driver: (value) => n.Driver === value,
    label: (value) => hasLabel(n.Labels, value),
  };
  for (const [key, values] of filters) {
    const check = checks[key];
    if (check && !values.some(check)) return false;
  }
  return true;
}
