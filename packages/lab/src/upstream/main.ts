#!/usr/bin/env node
/**
 * The lab's fake upstream resolver process (started by `lab up` in
 * `<prefix>-upstream`): authoritative for {@link UPSTREAM_RECORDS}, NXDOMAIN
 * for anything else, on 203.0.113.53:53 UDP and TCP. `--lab-dir` only marks
 * the process as the lab's (so `lab down` may stop it).
 */
import { parseArgs } from 'node:util';
import { buildDnsTable, DnsServer } from '@arca-net/dns';
import { createLogger } from '@arca-net/log';
import { UPSTREAM_ADDRESS, UPSTREAM_RECORDS } from './resolver.js';

async function main(): Promise<void> {
  parseArgs({ options: { 'lab-dir': { type: 'string' } }, strict: true });
  const logger = createLogger({ base: { service: 'lab-upstream' } });
  const server = await DnsServer.start({
    host: UPSTREAM_ADDRESS,
    port: 53,
    authoritative: true,
    logger,
  });
  server.setTable(
    buildDnsTable({
      external: {
        containers: Object.entries(UPSTREAM_RECORDS).map(([name, ipAddress]) => ({
          name,
          id: '',
          ipAddress,
          aliases: [],
        })),
      },
    }),
  );
  const stop = () => void server.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`lab upstream: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
