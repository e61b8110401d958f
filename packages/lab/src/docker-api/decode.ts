/**
 * Request bodies decoded as Docker's Go daemon decodes them (encoding/json):
 * field names match case-insensitively, unknown fields are ignored, `null`
 * is "absent", and a value of the wrong type is refused with Go's sentence
 * (`json: cannot unmarshal number into Go struct field
 * NetworkCreateRequest.Name of type string`), so a client sees Docker's 400.
 */
import { DockerApiError } from './errors.js';

/** The shape of one JSON value, with the Go type name Docker's error quotes. */
export type Shape =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'number'; go: string }
  | { kind: 'map'; go: string; value: Shape }
  | { kind: 'array'; go: string; item: Shape }
  | { kind: 'struct'; go: string; fields: Record<string, Shape> }
  | { kind: 'any' };

export const str: Shape = { kind: 'string' };
export const bool: Shape = { kind: 'bool' };
export const any: Shape = { kind: 'any' };
export const stringMap: Shape = { kind: 'map', go: 'map[string]string', value: str };
export const stringList: Shape = { kind: 'array', go: '[]string', item: str };

const GO_TYPE: Record<Shape['kind'], string> = {
  string: 'string',
  bool: 'bool',
  number: 'int',
  map: 'map',
  array: 'array',
  struct: 'struct',
  any: 'interface {}',
};

/** Go's name of a JSON value's kind in its type errors. */
function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'boolean') return 'bool';
  return typeof value; // string, number
}

const goName = (shape: Shape): string => ('go' in shape ? shape.go : GO_TYPE[shape.kind]);

interface Context {
  /** The innermost struct being decoded (Go's `Struct` of the error). */
  struct: string;
  /** Field names from the top (Go's `Field`). */
  fields: string[];
}

function mismatch(value: unknown, shape: Shape, context: Context | undefined, top: string): never {
  const where =
    context === undefined
      ? `Go value of type ${top}`
      : `Go struct field ${context.struct}.${context.fields.join('.')} of type ${goName(shape)}`;
  throw new DockerApiError(400, `json: cannot unmarshal ${jsonKind(value)} into ${where}`);
}

function decodeValue(
  value: unknown,
  shape: Shape,
  context: Context | undefined,
  top: string,
): unknown {
  if (value === null || value === undefined) return undefined;
  switch (shape.kind) {
    case 'any':
      return value;
    case 'string':
      if (typeof value !== 'string') mismatch(value, shape, context, top);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') mismatch(value, shape, context, top);
      return value;
    case 'number':
      if (typeof value !== 'number') mismatch(value, shape, context, top);
      return value;
    case 'array': {
      if (!Array.isArray(value)) mismatch(value, shape, context, top);
      return (value as unknown[]).map((item) => decodeValue(item, shape.item, context, top));
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) mismatch(value, shape, context, top);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value as object)) {
        const decoded = decodeValue(item, shape.value, context, top);
        // Go keeps a null map value as the zero value.
        out[key] = decoded === undefined ? '' : decoded;
      }
      return out;
    }
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) mismatch(value, shape, context, top);
      const out: Record<string, unknown> = {};
      const names = Object.keys(shape.fields);
      for (const [key, item] of Object.entries(value as object)) {
        // encoding/json: an exact match first, else a case-insensitive one; the last key wins.
        const name =
          names.find((n) => n === key) ?? names.find((n) => n.toLowerCase() === key.toLowerCase());
        if (name === undefined) continue;
        const field = shape.fields[name] as Shape;
        const inner: Context = {
          struct: shape.go.replace(/^.*\./, ''),
          fields: [...(context?.fields ?? []), name],
        };
        const decoded = decodeValue(item, field, inner, top);
        if (decoded !== undefined) out[name] = decoded;
      }
      return out;
    }
  }
}

/**
 * Decodes a request body of Go type `shape` (a struct). An empty body is
 * Docker's "got EOF while reading request body" when `required`.
 */
export function decodeBody<T>(body: Buffer, shape: Shape & { kind: 'struct' }, required = true): T {
  if (body.length === 0) {
    if (required) throw new DockerApiError(400, 'got EOF while reading request body');
    return {} as T;
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new DockerApiError(400, goSyntaxError(body.toString('utf8'), error));
  }
  return (decodeValue(value, shape, undefined, shape.go) ?? {}) as T;
}

/** Go's wording of the commonest JSON syntax errors (Node's otherwise). */
export function goSyntaxError(text: string, error: unknown): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'EOF';
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (position === null) return 'unexpected EOF';
  const index = Number(position[1]);
  const char = text[index] ?? '';
  const before = text.slice(0, index).trimEnd();
  const context =
    before.endsWith('{') || before.endsWith(',')
      ? 'looking for beginning of object key string'
      : 'looking for beginning of value';
  return `invalid character '${char}' ${context}`;
}
