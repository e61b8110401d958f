/**
 * Docker's `--format` for list commands, the part of Go's text/template that
 * `docker network ls --format` is used with: `{{.Field}}`, `{{json .}}`,
 * `{{json .Field}}`, literal text, `\t` and `\n`, and a leading `table` that
 * prints a header row and aligns the columns. Anything else is refused with
 * Go's wording (a usage error), never printed wrongly.
 */
import { UsageError } from './errors.js';
import { formatTable } from './output.js';

type Part = { text: string } | { field: string | null; json: boolean };

/** A parsed `--format`. */
export interface Template {
  table: boolean;
  parts: Part[];
}

const ACTION = /\{\{\s*(json\s+)?\.([A-Za-z_][A-Za-z0-9_]*)?\s*\}\}/y;

/** Parses `format`; throws a UsageError for an action it does not know. */
export function parseTemplate(format: string): Template {
  let text = format.trim();
  const table = text === 'table' || text.startsWith('table ');
  if (table) text = text.slice('table'.length).trim();
  text = text.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  const parts: Part[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('{{', at);
    if (open < 0) {
      parts.push({ text: text.slice(at) });
      break;
    }
    if (open > at) parts.push({ text: text.slice(at, open) });
    ACTION.lastIndex = open;
    const match = ACTION.exec(text);
    if (!match) {
      const end = text.indexOf('}}', open);
      const action = end < 0 ? text.slice(open) : text.slice(open, end + 2);
      throw new UsageError(`template: unsupported action ${action} in --format`);
    }
    parts.push({ field: match[2] ?? null, json: match[1] !== undefined });
    at = ACTION.lastIndex;
  }
  return { table, parts };
}

/** Go's `%v` of a value as `docker … --format` prints it (maps as `k=v,…` like Docker's Labels). */
function plain(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
  }
  return String(value);
}

function renderOne(template: Template, row: Record<string, unknown>): string {
  return template.parts
    .map((part) => {
      if ('text' in part) return part.text;
      if (part.field !== null && !(part.field in row)) {
        throw new UsageError(
          `template: can't evaluate field ${part.field} (fields: ${Object.keys(row).join(', ')})`,
        );
      }
      const value = part.field === null ? row : row[part.field];
      return part.json ? JSON.stringify(value) : plain(value);
    })
    .join('');
}

/**
 * Renders `rows` with `template`, one line per row; `headers` names the
 * column of each field for a `table` template (Docker's column titles).
 */
export function renderTemplate(
  template: Template,
  rows: readonly Record<string, unknown>[],
  headers: Readonly<Record<string, string>>,
): string {
  if (!template.table) return rows.map((row) => `${renderOne(template, row)}\n`).join('');
  const header = renderOne(
    {
      table: false,
      parts: template.parts.map((part) =>
        'text' in part
          ? part
          : { text: part.field === null ? '' : (headers[part.field] ?? part.field.toUpperCase()) },
      ),
    },
    {},
  );
  const lines = rows.map((row) => renderOne(template, row));
  return formatTable(
    header.split('\t'),
    lines.map((line) => line.split('\t')),
  );
}
