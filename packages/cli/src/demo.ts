/** `arca-net lab demo`: the scripted lab tour (filled in once the lab works end to end). */
import type { CommandContext } from './commands/context.js';
import { CliError } from './errors.js';

export async function labDemoCommand(
  _context: CommandContext,
  _options: { keep: boolean },
): Promise<number> {
  throw new CliError('the demo is not ready yet');
}
