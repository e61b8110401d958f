/** What every command gets: where output goes and which lab it talks to. */
import { LabClient, type LabPaths, type LabProgress } from '@arca-net/lab';
import { type Io, Progress } from '../output.js';

export interface CommandContext {
  io: Io;
  paths: LabPaths;
  /** The lab's own paths (host 1) and the host `--host` chose (a cluster, docs/cluster.md). */
  lab?: { root: LabPaths; host: number };
  json: boolean;
  quiet: boolean;
}

/** The client of the lab host of `context`'s lab. */
export function labClient(context: CommandContext): LabClient {
  return new LabClient(context.paths.hostSocket);
}

/** `lab up`/`lab down` steps drawn as progress lines on stderr (none with --quiet). */
export function labProgress(context: CommandContext): LabProgress {
  return {
    step: (title, work) =>
      Progress.run(
        context.io,
        title,
        (progress) => work((text) => progress.update(text)),
        context.quiet,
      ),
  };
}
