import { describe, expect, it } from 'vitest';
import { globalsFirst } from '../src/command.js';
import { networkMatches, parseFilters } from '../src/filter.js';
import { parseTemplate, renderTemplate } from '../src/template.js';

const rows = [
  { ID: 'aaaaaaaaaaaa', Name: 'front', Driver: 'bridge', Labels: { tier: 'web', x: '' } },
  { ID: 'bbbbbbbbbbbb', Name: 'back', Driver: 'bridge', Labels: {} },
];
const headers = { ID: 'NETWORK ID' };

describe('--format templates', () => {
  it('renders fields, literal text, \\t and maps as k=v', () => {
    const t = parseTemplate('{{.Name}}\\t{{ .Driver }}:{{.Labels}}');
    expect(renderTemplate(t, rows, headers)).toBe('front\tbridge:tier=web,x=\nback\tbridge:\n');
  });

  it('renders {{json .}} and {{json .Field}}', () => {
    expect(renderTemplate(parseTemplate('{{json .}}'), rows.slice(1), headers)).toBe(
      `${JSON.stringify(rows[1])}\n`,
    );
    expect(renderTemplate(parseTemplate('{{json .Name}}'), rows, headers)).toBe(
      '"front"\n"back"\n',
    );
  });

  it('a table template has Docker-style headers and aligned columns', () => {
    expect(renderTemplate(parseTemplate('table {{.ID}}\\t{{.Name}}'), rows, headers)).toBe(
      'NETWORK ID     NAME\naaaaaaaaaaaa   front\nbbbbbbbbbbbb   back\n',
    );
  });

  it('refuses unknown actions and fields', () => {
    expect(() => parseTemplate('{{range .}}x{{end}}')).toThrow(
      /unsupported action \{\{range \.\}\}/,
    );
    expect(() => parseTemplate('{{.Name')).toThrow(/unsupported action/);
    expect(() => renderTemplate(parseTemplate('{{.Nope}}'), rows, headers)).toThrow(
      "can't evaluate field Nope",
    );
  });
});

describe('--filter', () => {
  const net = (name: string, labels: Record<string, string>) =>
    ({ Name: name, Id: `${name}0123`, Driver: 'bridge', Labels: labels }) as never;

  it('ORs the values of one key and ANDs the keys', () => {
    const f = parseFilters(['name=fro', 'name=zz', 'label=tier=web'], ['name', 'label']);
    expect(networkMatches(net('front', { tier: 'web' }), f)).toBe(true);
    expect(networkMatches(net('front', { tier: 'db' }), f)).toBe(false);
    expect(networkMatches(net('back', { tier: 'web' }), f)).toBe(false);
    expect(networkMatches(net('x', { tier: '' }), parseFilters(['label=tier'], ['label']))).toBe(
      true,
    );
    expect(networkMatches(net('x', {}), parseFilters(['id=x01'], ['id']))).toBe(true);
  });

  it("refuses an unknown key with Docker's INVALID_FILTER, a bare word as a usage error", () => {
    expect(() => parseFilters(['colour=red'], ['name'])).toThrow(
      expect.objectContaining({ code: 'INVALID_FILTER', message: "Invalid filter 'colour'" }),
    );
    expect(() => parseFilters(['name'], ['name'])).toThrow(/bad format of filter/);
  });
});

describe('global options anywhere', () => {
  const globals = {
    'lab-dir': { type: 'string' as const },
    json: { type: 'boolean' as const },
    quiet: { type: 'boolean' as const, short: 'q' },
  };
  it('moves options before the command words behind them', () => {
    expect(globalsFirst(['--lab-dir', '/x', 'lab', 'status'], globals)).toEqual([
      'lab',
      'status',
      '--lab-dir',
      '/x',
    ]);
    expect(globalsFirst(['-q', '--json', 'network', 'ls', '-f', 'name=a'], globals)).toEqual([
      'network',
      'ls',
      '-q',
      '--json',
      '-f',
      'name=a',
    ]);
    expect(globalsFirst(['--lab-dir=/x', 'lab', 'ps'], globals)).toEqual([
      'lab',
      'ps',
      '--lab-dir=/x',
    ]);
    expect(globalsFirst(['lab', 'ps', '--json'], globals)).toEqual(['lab', 'ps', '--json']);
  });
});
