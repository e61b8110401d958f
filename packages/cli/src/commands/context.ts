/** What every command gets: where output goes and which lab it talks to. */
import { HostClient } from '../daemon/client.js';
import { LabPaths } from '../lab/paths.js';
import type { Io } from '../output.js';

export interface CommandContext {
  io: Io;
  paths: LabPaths;
  json: boolean;
  quiet: boolean;
}

export function hostClient(context: CommandContext): HostClient {
  return new HostClient(context.paths.hostSocket);
}

export function labPaths(dir: string, prefix: string): LabPaths {
  return new LabPaths({ dir, prefix });
}
