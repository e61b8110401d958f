/**
 * grpc-js's own log lines (connection errors, GRPC_TRACE output) through
 * pino instead of console.error, at the verbosity the logger is set to.
 */
import { format } from 'node:util';
import type { Logger } from '@arca-net/log';
import { logVerbosity, setLogger, setLogVerbosity } from '@grpc/grpc-js';

/**
 * Routes grpc-js's logging to a `{component: 'grpc-js'}` child of `logger`.
 * grpc-js has one logger per process: the last call wins.
 */
export function routeGrpcJsLogging(logger: Logger): void {
  const log = logger.child({ component: 'grpc-js' });
  setLogger({
    error: (...data: unknown[]) => log.error(format(...data)),
    info: (...data: unknown[]) => log.info(format(...data)),
    debug: (...data: unknown[]) => log.debug(format(...data)),
  });
  setLogVerbosity(
    log.isLevelEnabled('debug')
      ? logVerbosity.DEBUG
      : log.isLevelEnabled('info')
        ? logVerbosity.INFO
        : log.isLevelEnabled('error')
          ? logVerbosity.ERROR
          : logVerbosity.NONE,
  );
}
