/**
 * `arca-net ovs-docker …`: Open vSwitch's `ovs-docker` script, same
 * arguments, messages (stderr), usage (stdout) and exit codes, over
 * @arca-net/controller's OVS port layer. It takes its arguments as the
 * script does (positionals first, then `--option=value`), not through the
 * CLI's option parser, so that scripts written for ovs-docker keep working.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import {
  type AddPortOptions,
  createToolRunner,
  defaultOvsdb,
  loadWatchConfig,
  OvsDocker,
  OvsDockerError,
  PortManager,
  UTIL,
} from '@arca-net/controller/ovs';
import { createLogger } from '@arca-net/log';
import type { Io } from '../output.js';

/**
 * The script's usage text, word for word (stdout; exit 0 for --help, 1 after
 * a missing argument); `watch`, ours alone, is in `arca-net --help`.
 */
export function ovsDockerUsage(): string {
  return `${UTIL}: Performs integration of Open vSwitch with Docker.
usage: ${UTIL} COMMAND

Commands:
  add-port BRIDGE INTERFACE CONTAINER [--ipaddress="ADDRESS"]
                    [--gateway=GATEWAY] [--macaddress="MACADDRESS"]
                    [--mtu=MTU]
                    Adds INTERFACE inside CONTAINER and connects it as a port
                    in Open vSwitch BRIDGE. Optionally, sets ADDRESS on
                    INTERFACE. ADDRESS can include a '/' to represent network
                    prefix length. Optionally, sets a GATEWAY, MACADDRESS
                    and MTU.  e.g.:
                    ${UTIL} add-port br-int eth1 c474a0e2830e
                    --ipaddress=192.168.1.2/24 --gateway=192.168.1.1
                    --macaddress="a2:c3:0d:49:7f:f8" --mtu=1450
  del-port BRIDGE INTERFACE CONTAINER
                    Deletes INTERFACE inside CONTAINER and removes its
                    connection to Open vSwitch BRIDGE. e.g.:
                    ${UTIL} del-port br-int eth1 c474a0e2830e
  del-ports BRIDGE CONTAINER
                    Removes all Open vSwitch interfaces from CONTAINER. e.g.:
                    ${UTIL} del-ports br-int c474a0e2830e
  set-vlan BRIDGE INTERFACE CONTAINER VLAN
                    Configures the INTERFACE of CONTAINER attached to BRIDGE
                    to become an access port of VLAN. e.g.:
                    ${UTIL} set-vlan br-int eth1 c474a0e2830e 5
Options:
  -h, --help        display this help message.
`;
}

/** `ovs-docker watch [--config=FILE]`: the port manager until SIGINT/SIGTERM. */
async function watchCommand(
  args: readonly string[],
  io: Io,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--config=')) file = arg.slice('--config='.length);
    else if (arg === '--config' && args[i + 1] !== undefined) file = args[++i];
    else {
      io.err(`${UTIL} watch: unknown option "${arg}" (use --help for help)\n`);
      return 1;
    }
  }
  let config: Awaited<ReturnType<typeof loadWatchConfig>>;
  try {
    config = await loadWatchConfig(file, env);
  } catch (error) {
    io.err(`${UTIL} watch: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const logger = createLogger({ level: config.logLevel, base: { service: 'ovs-docker-watch' } });
  const manager = new PortManager({
    config,
    logger,
    run: createToolRunner({ timeoutMs: 61_000, env: env as Record<string, string> }),
  });
  try {
    await manager.start();
  } catch (error) {
    io.err(`${UTIL} watch: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await manager.stop();
  logger.flush();
  return 0;
}

const ADD_PORT_OPTIONS: Record<string, keyof AddPortOptions> = {
  '--ipaddress': 'ipaddress',
  '--macaddress': 'macaddress',
  '--gateway': 'gateway',
  '--mtu': 'mtu',
};

async function onPath(tool: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    try {
      await access(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // next directory
    }
  }
  return false;
}

/** Runs `ovs-docker ARGS…`; returns the exit code (the script's). */
export async function ovsDockerCommand(
  args: readonly string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const fail = (line: string): number => {
    io.err(`${line}\n`);
    return 1;
  };
  const usageFailure = (): number => {
    io.out(ovsDockerUsage());
    return 1;
  };
  for (const tool of ['ovs-vsctl', 'docker', 'ip']) {
    if (!(await onPath(tool, env))) {
      return fail(`${UTIL}: ${tool} not found in $PATH, please install and try again`);
    }
  }
  const [command, ...rest] = args;
  if (command === undefined || command === '-h' || command === '--help') {
    io.out(ovsDockerUsage());
    return 0;
  }
  if (command === 'watch') return watchCommand(rest, io, env);
  // Interrupted: the step running finishes, everything made is undone, the namespace link removed.
  const abort = new AbortController();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (): void => abort.abort(new OvsDockerError([`${UTIL}: interrupted`], 130));
  for (const signal of signals) process.on(signal, onSignal);
  const ovsDocker = new OvsDocker({
    run: createToolRunner({ timeoutMs: 61_000, env: env as Record<string, string> }),
    db: defaultOvsdb(env),
    signal: abort.signal,
  });
  try {
    switch (command) {
      case 'add-port': {
        const [bridge = '', iface = '', container = '', ...options] = rest;
        if (bridge === '' || iface === '' || container === '') {
          return fail(`${UTIL} add-port: not enough arguments (use --help for help)`);
        }
        const parsed: AddPortOptions = {};
        for (const option of options) {
          const equals = option.indexOf('=');
          const key = ADD_PORT_OPTIONS[equals < 0 ? '' : option.slice(0, equals)];
          if (!key) return fail(`${UTIL} add-port: unknown option "${option}"`);
          parsed[key] = option.slice(equals + 1);
        }
        await ovsDocker.addPort(bridge, iface, container, parsed);
        return 0;
      }
      case 'del-port': {
        if (rest.length < 3) return usageFailure();
        const [bridge = '', iface = '', container = ''] = rest;
        await ovsDocker.delPort(bridge, iface, container);
        return 0;
      }
      case 'del-ports': {
        if (rest.length < 2) return usageFailure();
        const [bridge = '', container = ''] = rest;
        await ovsDocker.delPorts(bridge, container);
        return 0;
      }
      case 'set-vlan': {
        if (rest.length < 4) return usageFailure();
        const [bridge = '', iface = '', container = '', vlan = ''] = rest;
        await ovsDocker.setVlan(bridge, iface, container, vlan);
        return 0;
      }
      default:
        return fail(`${UTIL}: unknown command "${command}" (use --help for help)`);
    }
  } catch (error) {
    if (error instanceof OvsDockerError) {
      io.err(error.lines.map((line) => `${line}\n`).join(''));
      return error.exitCode;
    }
    return fail(`${UTIL}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
  }
}
