/** One command of the command line, as cli.ts dispatches it, and the argument helpers. */
import type { ParseArgsConfig } from 'node:util';
import type { CommandContext } from './commands/context.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  /** e.g. "network create" */
  name: string;
  usage: string;
  summary: string;
  options: Options;
  /** [min, max] positionals */
  arity: [number, number];
  run(
    context: CommandContext,
    values: Values,
    positionals: string[],
    rest: string[],
  ): Promise<number | undefined>;
}

export const str = (values: Values, key: string): string | undefined => {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
};
export const list = (values: Values, key: string): string[] | undefined => {
  const value = values[key];
  return Array.isArray(value) ? value : undefined;
};
export const at = (positionals: string[], index: number): string => positionals[index] ?? '';

/**
 * Moves the options of every command that stand before the command words
 * (`arca-net --lab-dir X lab status`) behind them, where they are parsed.
 */
export function globalsFirst(argv: readonly string[], globals: Options): string[] {
  const early: string[] = [];
  let i = 0;
  while (i < argv.length && (argv[i] ?? '').startsWith('-') && argv[i] !== '--') {
    const word = argv[i] ?? '';
    const name = word.replace(/^--?/, '').split('=')[0] ?? '';
    const option =
      globals[name] ??
      Object.values(globals).find((o) => o.short !== undefined && o.short === name);
    if (!option || word === '-h' || word === '--help') break;
    early.push(word);
    if (option.type === 'string' && !word.includes('=') && i + 1 < argv.length) {
      early.push(argv[i + 1] ?? '');
      i++;
    }
    i++;
  }
  if (early.length === 0) return [...argv];
  const words = argv.slice(i, i + 2);
  return [...words, ...early, ...argv.slice(i + 2)];
}
