/**
 * Size caps of the lab's log files: every process writes its log through an
 * O_APPEND fd the lab host does not own, so a file over the cap keeps its
 * last half in `<file>.1` and is truncated in place (the writers go on at
 * the new end). At most about 1.5 × the cap per log stays on disk.
 */
import { open, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@arca-net/log';

/** Default cap of one log file, bytes (`ARCA_NET_LAB_LOG_MAX_MB`). */
export function labLogMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.ARCA_NET_LAB_LOG_MAX_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : 16) * 1024 * 1024;
}

/** Caps every `*.log` in `dirs` at `maxBytes`; returns the files it cut. */
export async function capLogs(dirs: readonly string[], maxBytes: number): Promise<string[]> {
  const cut: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.log'));
    } catch {
      continue;
    }
    for (const name of names) {
      const file = join(dir, name);
      try {
        const size = (await stat(file)).size;
        if (size <= maxBytes) continue;
        const keep = Math.floor(maxBytes / 2);
        const handle = await open(file, 'r');
        try {
          const tail = Buffer.alloc(keep);
          const { bytesRead } = await handle.read(tail, 0, keep, size - keep);
          await writeFile(`${file}.1`, tail.subarray(0, bytesRead), { mode: 0o600 });
        } finally {
          await handle.close();
        }
        await truncate(file, 0);
        cut.push(file);
      } catch {
        // gone or unreadable: the next round tries again
      }
    }
  }
  return cut;
}

/** Caps the logs in `dirs` every `intervalMs`; returns the stop function. */
export function watchLogSizes(
  dirs: readonly string[],
  maxBytes: number,
  logger: Logger,
  intervalMs = 10_000,
): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    capLogs(dirs, maxBytes)
      .then((cut) => {
        if (cut.length > 0) logger.warn({ files: cut, maxBytes }, 'log files over their cap cut');
      })
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
