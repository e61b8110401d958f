/**
 * Decoder for the `--format=json` output of ovn-nbctl / ovn-sbctl / ovs-vsctl
 * `list`/`find`: `{"headings": [...], "data": [[...], ...]}` whose cells are
 * RFC 7047 values: atoms (string, number, boolean), `["uuid", id]`,
 * `["named-uuid", id]`, `["set", [atoms]]` and `["map", [[key, value], ...]]`.
 */

/** An OVSDB atom as decoded here (uuids become their string). */
export type OvsdbAtom = string | number | boolean;
/** A decoded cell: an atom, a set (array) or a map (Map). */
export type OvsdbValue = OvsdbAtom | OvsdbAtom[] | Map<OvsdbAtom, OvsdbAtom>;
/** One row: column name → value. */
export type OvsdbRow = Record<string, OvsdbValue>;

function fail(what: string, value: unknown): never {
  throw new Error(`unexpected OVSDB JSON ${what}: ${JSON.stringify(value)?.slice(0, 200)}`);
}

function decodeAtom(value: unknown): OvsdbAtom {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    (value[0] === 'uuid' || value[0] === 'named-uuid') &&
    typeof value[1] === 'string'
  ) {
    return value[1];
  }
  return fail('atom', value);
}

/** Decodes one RFC 7047 value. */
export function decodeValue(value: unknown): OvsdbValue {
  if (Array.isArray(value) && value.length === 2 && value[0] === 'set') {
    if (!Array.isArray(value[1])) fail('set', value);
    return (value[1] as unknown[]).map(decodeAtom);
  }
  if (Array.isArray(value) && value.length === 2 && value[0] === 'map') {
    if (!Array.isArray(value[1])) fail('map', value);
    const map = new Map<OvsdbAtom, OvsdbAtom>();
    for (const pair of value[1] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) fail('map pair', pair);
      map.set(decodeAtom(pair[0]), decodeAtom(pair[1]));
    }
    return map;
  }
  return decodeAtom(value);
}

/** Decodes a whole `--format=json` table into rows keyed by heading. */
export function parseTable(text: string): OvsdbRow[] {
  const doc: unknown = JSON.parse(text);
  if (typeof doc !== 'object' || doc === null) fail('table', doc);
  const { headings, data } = doc as { headings?: unknown; data?: unknown };
  if (!Array.isArray(headings) || !Array.isArray(data)) fail('table', doc);
  const names = headings.map((h) => (typeof h === 'string' ? h : fail('heading', h)));
  return data.map((cells) => {
    if (!Array.isArray(cells) || cells.length !== names.length) fail('row', cells);
    const row: OvsdbRow = {};
    names.forEach((name, i) => {
      row[name] = decodeValue(cells[i]);
    });
    return row;
  });
}

/** A column as a string ('' for an empty optional value). */
export function str(row: OvsdbRow, column: string): string {
  const v = row[column];
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.length === 0 ? '' : String(v[0]);
  if (v instanceof Map) fail(`map in string column ${column}`, [...v]);
  return String(v);
}

/** A column as a list of strings (a single atom is a one-element set). */
export function strs(row: OvsdbRow, column: string): string[] {
  const v = row[column];
  if (v === undefined) return [];
  if (Array.isArray(v)) return v.map(String);
  if (v instanceof Map) fail(`map in set column ${column}`, [...v]);
  return [String(v)];
}

/** A column as a string map (an empty map is an empty set in JSON). */
export function strMap(row: OvsdbRow, column: string): Map<string, string> {
  const v = row[column];
  const out = new Map<string, string>();
  if (v instanceof Map) for (const [k, val] of v) out.set(String(k), String(val));
  else if (Array.isArray(v) && v.length === 0) return out;
  else if (v !== undefined) fail(`non-map in map column ${column}`, v);
  return out;
}

/** A column as a boolean (empty optional = false). */
export function bool(row: OvsdbRow, column: string): boolean {
  const v = row[column];
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v) && typeof v[0] === 'boolean') return v[0];
  return false;
}
