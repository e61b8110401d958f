/**
 * The one logging setup of every arca-net process: pino, JSON lines on stderr
 * by default, human-readable only when a terminal asks for it.
 *
 * Environment:
 * - `ARCA_NET_LOG_LEVEL` (or `LOG_LEVEL`): trace|debug|info|warn|error|fatal|silent, default `info`.
 * - `ARCA_NET_LOG_FORMAT`: `json` or `pretty`; default `pretty` when stderr is a TTY, else `json`.
 * - `ARCA_NET_LOG_RATE`: lines per message (same level and text) per 10 s, default 50; 0 = no limit.
 *   Lines over the limit are dropped and counted; the next line of that message after the
 *   window says how many were suppressed (`suppressed`), so a flood cannot fill a disk.
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
  /** Lines per message per `rateWindowMs` (default `ARCA_NET_LOG_RATE` or 50; 0 = no limit). */
  ratePerMessage?: number;
  /** Window of the rate limit, ms (default 10 000). */
  rateWindowMs?: number;
}

/** Messages tracked at once by the rate limit (oldest windows are forgotten beyond it). */
const RATE_KEYS = 1000;

type LogMethod = (...args: unknown[]) => void;

/**
 * pino's `logMethod` hook that rate-limits repeated lines: per level and
 * message text, at most `limit` lines per `windowMs`; the first line of a new
 * window carries `suppressed` (how many were dropped in the last one).
 */
export function rateLimitHook(limit: number, windowMs: number) {
  const windows = new Map<string, { start: number; count: number; suppressed: number }>();
  return function logMethod(this: unknown, args: unknown[], method: LogMethod, level: number) {
    if (limit <= 0) return method.apply(this, args);
    const msg = typeof args[0] === 'string' ? args[0] : typeof args[1] === 'string' ? args[1] : '';
    const key = `${level}:${msg}`;
    const now = Date.now();
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) {
      const suppressed = w?.suppressed ?? 0;
      windows.delete(key);
      if (windows.size >= RATE_KEYS) windows.delete(windows.keys().next().value as string);
      w = { start: now, count: 0, suppressed: 0 };
      windows.set(key, w);
      if (suppressed > 0) {
        const fields = typeof args[0] === 'object' && args[0] !== null ? args[0] : {};
        const rest = typeof args[0] === 'object' && args[0] !== null ? args.slice(1) : args;
        w.count++;
        return method.apply(this, [{ ...fields, suppressed }, ...rest]);
      }
    }
    if (w.count >= limit) {
      w.suppressed++;
      return;
    }
    w.count++;
    return method.apply(this, args);
  };
}

function envRate(): number {
  const value = Number(process.env.ARCA_NET_LOG_RATE);
  return process.env.ARCA_NET_LOG_RATE !== undefined && Number.isFinite(value) ? value : 50;
}

function envFormat(): LogFormat {
  const value = process.env.ARCA_NET_LOG_FORMAT;
  if (value === 'json' || value === 'pretty') return value;
  return process.stderr.isTTY ? 'pretty' : 'json';
}

/** Creates the root logger of a process; components take `logger.child({component})`. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? process.env.ARCA_NET_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  const pinoOptions: LoggerOptions = {
    level,
    base: { pid: process.pid, ...options.base },
    hooks: {
      logMethod: rateLimitHook(
        options.ratePerMessage ?? envRate(),
        options.rateWindowMs ?? 10_000,
      ) as NonNullable<LoggerOptions['hooks']>['logMethod'],
    },
  };
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
