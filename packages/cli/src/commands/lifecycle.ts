/**
 * `lab stop|start|restart NAME...`: the container's VM stand-in goes away
 * and comes back (the host library's containerStopped/containerStarted),
 * keeping its addresses and MACs. Like `docker stop`, each name is tried and
 * printed; the exit code is 1 when any failed.
 */
import type { LabContainer } from '@arca-net/lab';
import type { Command } from '../command.js';
import { describeError, ExitCode } from '../errors.js';
import { type CommandContext, labClient } from './context.js';

type Action = 'stop' | 'start' | 'restart';

async function lifecycle(context: CommandContext, action: Action, names: string[]) {
  const client = labClient(context);
  const call: Record<Action, (ref: string) => Promise<LabContainer>> = {
    stop: (ref) => client.stopContainer(ref),
    start: (ref) => client.startContainer(ref),
    restart: (ref) => client.restartContainer(ref),
  };
  let failed = 0;
  for (const name of names) {
    try {
      await call[action](name);
      context.io.out(`${name}\n`);
    } catch (error) {
      const [message, code] = describeError(error);
      if (code === ExitCode.unavailable) throw error;
      context.io.err(`${message}\n`);
      failed++;
    }
  }
  return failed > 0 ? 1 : 0;
}

const command = (action: Action, summary: string): Command => ({
  name: `lab ${action}`,
  usage: `arca-net lab ${action} NAME...`,
  summary,
  options: {},
  arity: [1, Number.POSITIVE_INFINITY],
  run: (c, _v, p) => lifecycle(c, action, p),
});

export const LIFECYCLE_COMMANDS: Command[] = [
  command(
    'stop',
    "stop containers: their VM goes, addresses and MACs stay; names leave peers' DNS",
  ),
  command('start', 'start stopped containers with the same addresses and MACs'),
  command('restart', 'stop and start containers'),
];
