import type { Io } from '../src/output.js';

/** An {@link Io} that keeps what the CLI printed, as a test reads it. */
export function capturedIo(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    interactive: false,
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
  };
  return io;
}
