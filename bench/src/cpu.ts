import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

/** User+system CPU seconds in a /proc stat file (of a process or one thread); 0 if it is gone. */
function statCpuSeconds(statPath: string): number {
  try {
    const stat = readFileSync(statPath, 'utf8');
    // Fields after the command name (which may contain spaces) start after ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** User+system CPU seconds a process (all its threads) has used so far; 0 if it is gone. */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of this process's threads that `pick` selects by thread id and name (`comm`). */
export function threadsCpuSeconds(pick: (tid: number, name: string) => boolean): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc/self/task')) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${entry}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended
    }
    if (pick(Number(entry), name)) seconds += statCpuSeconds(`/proc/self/task/${entry}/stat`);
  }
  return seconds;
}

/** CPU seconds of each named process group, for a before/after difference. */
export function cpuSnapshot(groups: Record<string, number[]>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(groups).map(([name, pids]) => [
      name,
      pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    ]),
  );
}
