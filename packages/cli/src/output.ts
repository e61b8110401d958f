/**
 * Everything the CLI prints: tables for people, JSON for scripts, progress
 * lines for slow steps. Data goes to stdout, progress and errors to stderr.
 */

/** Where output goes; tests hand in string sinks. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** True when stderr is a terminal (progress may redraw its line). */
  interactive: boolean;
}

/** The process's own stdout/stderr. */
export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
};

/**
 * Formats rows as a left-aligned table with a header, columns separated by at
 * least three spaces (the look of `docker network ls`).
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell.padEnd((widths[column] ?? 0) + 3),
      )
      .join('')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** JSON for scripts: two-space indented, one trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Seconds with one decimal, for progress lines. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export const TICK = '✔';
export const CROSS = '✘';

/**
 * Progress of one slow step on stderr: `… text` while it runs (redrawn on a
 * terminal), then `✔ text (1.2 s)` or `✘ text`.
 */
export class Progress {
  private readonly started = performance.now();
  private finished = false;

  constructor(
    private readonly io: Io,
    private readonly title: string,
    private readonly quiet = false,
  ) {
    if (!quiet && io.interactive) io.err(`  … ${title}`);
  }

  /** Changes the running text (e.g. "waiting for OVN (3/30)"). */
  update(text: string): void {
    if (!this.quiet && this.io.interactive && !this.finished) redraw(this.io, `  … ${text}`);
  }

  /** Marks the step done: `✔ title (duration)`, or `text` instead of the title. */
  succeed(text = this.title): void {
    this.finish(`${TICK} ${text} (${formatDuration(performance.now() - this.started)})`);
  }

  /** Marks the step failed; the caller reports the reason (one line, by the CLI). */
  fail(): void {
    // Without a terminal the CLI's error line alone says what failed.
    if (this.io.interactive && !this.quiet) this.finish(`${CROSS} ${this.title}`, true);
    this.finished = true;
  }

  private finish(line: string, always = false): void {
    if (this.finished) return;
    this.finished = true;
    if (this.quiet && !always) return;
    if (this.io.interactive) redraw(this.io, `  ${line}\n`);
    else this.io.err(`  ${line}\n`);
  }

  /** Runs `work` under this progress line. */
  static async run<T>(
    io: Io,
    text: string,
    work: (progress: Progress) => Promise<T>,
    quiet = false,
  ): Promise<T> {
    const progress = new Progress(io, text, quiet);
    try {
      const result = await work(progress);
      progress.succeed();
      return result;
    } catch (error) {
      progress.fail();
      throw error;
    }
  }
}

function redraw(io: Io, text: string): void {
  io.err(`\r\x1b[2K${text}`);
}
