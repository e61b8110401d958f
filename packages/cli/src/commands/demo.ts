/**
 * `arca-net lab demo` (and `make demo`): draws the lab tour of @arca-net/lab
 * (`runTour`), one ✔ or ✘ per step, with the address table and the relay
 * counters. Exit code 1 when a step fails.
 */
import { DEFAULT_LAB_DIR, runClusterTour, runTour, type TourEvent } from '@arca-net/lab';
import { describeError } from '../errors.js';
import { CROSS, formatDuration, formatTable, TICK } from '../output.js';
import type { CommandContext } from './context.js';
import { formatStats } from './lab.js';

function indent(text: string): string {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => `    ${line}\n`)
    .join('');
}

/** The text of one tour event. */
export function renderTourEvent(event: TourEvent): string {
  switch (event.kind) {
    case 'heading':
      return `\n${event.text}\n`;
    case 'passed': {
      const detail = event.detail ? `: ${event.detail}` : '';
      return `  ${TICK} ${event.title}${detail} (${formatDuration(event.ms)})\n`;
    }
    case 'failed':
      return `  ${CROSS} ${event.title}: ${describeError(event.error)[0].replace(/^arca-net: /, '')}\n`;
    case 'containers': {
      const rows = event.containers.flatMap((c) =>
        c.attachments.map((a) => [
          c.name,
          a.networkName,
          a.device,
          `${a.ip}/${a.prefixLength}`,
          a.mac,
          String(a.port ?? '-'),
        ]),
      );
      const header = ['CONTAINER', 'NETWORK', 'DEVICE', 'ADDRESS', 'MAC', 'DATA PORT'];
      return `\n${indent(formatTable(header, rows))}`;
    }
    case 'counters':
      return indent(formatStats(event.container));
  }
}

export async function labDemoCommand(
  context: CommandContext,
  options: { keep: boolean; hosts?: number },
): Promise<number> {
  const { io, paths } = context;
  io.out(`arca-net lab tour (lab directory ${paths.dir})\n`);
  const tourOptions = {
    keep: options.keep,
    report: (event: TourEvent) => io.out(renderTourEvent(event)),
  };
  // --hosts N: the cluster tour (docs/cluster.md).
  const hosts = options.hosts ?? 1;
  const failures =
    hosts > 1 ? await runClusterTour(paths, hosts, tourOptions) : await runTour(paths, tourOptions);
  if (options.keep) {
    const cli = `node ${process.argv[1] ?? 'packages/cli/dist/main.js'}`;
    const lab = paths.dir === DEFAULT_LAB_DIR ? '' : ` --lab-dir ${paths.dir}`;
    io.out('\nThe lab stays up (KEEP=1). Try:\n');
    const tries =
      hosts > 1
        ? ['lab ps', `lab exec --host ${hosts} beta -- ping -c 3 alpha`, 'network ls', 'lab down']
        : ['lab ps', 'lab exec web -- ping -c 3 api', 'network ls', 'lab down'];
    for (const command of tries) {
      const [group, sub, ...rest] = command.split(' ');
      io.out(`    ${[cli, group, sub + lab, ...rest].join(' ')}\n`);
    }
    io.out(`    docker -H unix://${paths.dockerSocket} network ls    (Docker's own CLI)\n`);
  }
  io.out(
    failures === 0
      ? `\n${TICK} tour complete: every step passed\n`
      : `\n${CROSS} tour finished with ${failures} failed step${failures === 1 ? '' : 's'}\n`,
  );
  return failures === 0 ? 0 : 1;
}
