/**
 * Docker's `filters` query parameter: `{"name":{"x":true}}` (or the old
 * `{"name":["x"]}`), validated against the keys an endpoint accepts, and
 * its matchers with Docker's semantics (`name` and `id` are regular
 * expressions, `label` is `k` or `k=v`, `driver` and `scope` exact).
 */
import { goSyntaxError } from './decode.js';
import { DockerApiError } from './errors.js';

export type Filters = Map<string, string[]>;

/** Parses `filters` (absent or empty = no filter); unknown keys are Docker's "Invalid filter". */
export function parseFilters(text: string | null, accepted: readonly string[]): Filters {
  const filters: Filters = new Map();
  if (text === null || text === '') return filters;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new DockerApiError(500, goSyntaxError(text, error));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DockerApiError(
      500,
      `json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go value of type map[string]map[string]bool`,
    );
  }
  for (const [key, terms] of Object.entries(value)) {
    const list = Array.isArray(terms)
      ? terms.map(String)
      : typeof terms === 'object' && terms !== null
        ? Object.keys(terms)
        : [];
    filters.set(key, list);
  }
  for (const key of filters.keys()) {
    if (!accepted.includes(key)) throw new DockerApiError(400, `Invalid filter '${key}'`);
  }
  return filters;
}

/** Docker's `Match`: an exact match, or any term as a regular expression that matches. */
export function matches(filters: Filters, key: string, source: string): boolean {
  const terms = filters.get(key);
  if (terms === undefined) return true;
  return terms.some((term) => {
    if (term === source) return true;
    try {
      return new RegExp(term).test(source);
    } catch {
      return false;
    }
  });
}

/** Docker's `ExactMatch`. */
export function exactly(filters: Filters, key: string, source: string): boolean {
  const terms = filters.get(key);
  return terms === undefined || terms.includes(source);
}

/** Docker's `MatchKVList`: every `k` or `k=v` term is among the labels. */
export function labelsMatch(
  filters: Filters,
  key: string,
  labels: Record<string, string>,
): boolean {
  const terms = filters.get(key) ?? [];
  return terms.every((term) => {
    const [k = '', v] = term.split(/=(.*)/s);
    return Object.hasOwn(labels, k) && (v === undefined || labels[k] === v);
  });
}

/** A boolean filter (`dangling`): true, false or undefined; Docker's 400 for another value. */
export function booleanFilter(filters: Filters, key: string): boolean | undefined {
  const terms = filters.get(key);
  if (terms === undefined || terms.length === 0) return undefined;
  const values = new Set(
    terms.map((term) => {
      if (term === 'true' || term === '1') return true;
      if (term === 'false' || term === '0') return false;
      throw new DockerApiError(
        400,
        `invalid value for filter '${key}', must be "true" (or "1"), or "false" (or "0")`,
      );
    }),
  );
  return values.size === 1 ? [...values][0] : undefined;
}
