#!/usr/bin/env node
/** The `arca-net` executable. */
const argv = process.argv.slice(2);
// A reader that went away (`arca-net lab ps --json | head -1`) ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}
if (argv[0] === 'ovs-docker') {
  // The ovs-docker command needs neither the lab nor the host: load only it (it runs per container start).
  const [{ ovsDockerCommand }, { processIo }] = await Promise.all([
    import('./commands/ovs-docker.js'),
    import('./output.js'),
  ]);
  process.exitCode = await ovsDockerCommand(argv.slice(1), processIo);
} else {
  const { runCli } = await import('./cli.js');
  process.exitCode = await runCli(argv);
}
