/**
 * The forwarder process:
 *   node dist/main.js --listen vsock[:5555] | unixdir:/dir [--dns 127.0.0.11:53|off]
 *                     [--upstream ip[:port]]… [--log-level info]
 * Stops cleanly (detaching every device) on SIGTERM and SIGINT.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '@arca-net/log';
import { startForwarder } from './index.js';

const usage =
  'usage: forwarder --listen vsock[:PORT] | unixdir:DIR [--dns HOST[:PORT]|off] [--upstream IP[:PORT]]... [--log-level LEVEL]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: 'vsock:5555' },
      dns: { type: 'string', default: '127.0.0.11:53' },
      upstream: { type: 'string', multiple: true },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const logger = createLogger({
    ...(values['log-level'] ? { level: values['log-level'] } : {}),
    base: { service: 'forwarder' },
  });
  const forwarder = await startForwarder({
    listen: values.listen,
    dns: values.dns,
    ...(values.upstream ? { dnsUpstreams: values.upstream } : {}),
    logger,
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    forwarder.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `forwarder: ${error instanceof Error ? error.message : String(error)}\n${usage}\n`,
  );
  process.exit(1);
});
