/** Runs a tool of the reliability suites and collects its output. */
import { type ChildProcess, spawn } from 'node:child_process';

/** Runs argv; resolves with stdout once it exits 0 (rejects with stderr otherwise); `onLine` sees each stdout line as it comes. */
export function run(
  argv: string[],
  onLine?: (line: string, child: ChildProcess) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    const child = spawn(file as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line) onLine?.(line, child);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: ${code}: ${err}`)),
    );
  });
}
