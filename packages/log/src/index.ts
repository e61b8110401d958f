/**
 * The one logging setup of every arca-net process: pino, JSON lines on stderr
 * by default, human-readable only when a terminal asks for it.
 *
 * Environment:
 * - `ARCA_NET_LOG_LEVEL` (or `LOG_LEVEL`): trace|debug|info|warn|error|fatal|silent, default `info`.
 * - `ARCA_NET_LOG_FORMAT`: `json` or `pretty`; default `pretty` when stderr is a TTY, else `json`.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/** Log formats a process can be asked for. */
export type LogFormat = 'json' | 'pretty';

/** Options of {@link createLogger}; each overrides the matching environment variable. */
export interface CreateLoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Bound to every line, e.g. `{ service: 'controller' }`. */
  base?: Record<string, unknown>;
  /** Write JSON here instead of stderr (tests). */
  destination?: NodeJS.WritableStream;
}

function envFormat(): LogFormat {
  const value = process.env.ARCA_NET_LOG_FORMAT;
  if (value === 'json' || value === 'pretty') return value;
  return process.stderr.isTTY ? 'pretty' : 'json';
}

/** Creates the root logger of a process; components take `logger.child({component})`. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.ARCA_NET_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pinoOptions: LoggerOptions = { level, base: { pid: process.pid, ...options.base } };
  if (options.destination) {
    return pino(pinoOptions, options.destination);
  }
  if ((options.format ?? envFormat()) === 'pretty') {
    return pino({
      ...pinoOptions,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: true, ignore: 'pid,hostname' },
      },
    });
  }
  return pino(pinoOptions, pino.destination({ dest: 2, sync: false }));
}

/** A logger that discards everything (the default for library code not given one). */
export const silentLogger: Logger = pino({ level: 'silent' });
