/**
 * The `arca-net` command line: parses argv with node:util parseArgs,
 * dispatches to one command (each a thin client of @arca-net/lab), and
 * turns every failure into one line on stderr and a documented exit code
 * (errors.ts).
 */
import { parseArgs } from 'node:util';
import { hostPaths, LabPaths, labConfigFromEnv } from '@arca-net/lab';
import { at, type Command, globalsFirst, list, type Options, str, type Values } from './command.js';
import type { CommandContext } from './commands/context.js';
import { labDemoCommand } from './commands/demo.js';
import {
  labDownCommand,
  labExecCommand,
  labPsCommand,
  labRmCommand,
  labRunCommand,
  labStatsCommand,
  labStatusCommand,
  labUpCommand,
} from './commands/lab.js';
import { LIFECYCLE_COMMANDS } from './commands/lifecycle.js';
import {
  networkConnect,
  networkCreate,
  networkDisconnect,
  networkInspect,
  networkLs,
  networkPrune,
  networkRm,
} from './commands/network.js';
import { ovsDockerCommand } from './commands/ovs-docker.js';
import { labPortCommand } from './commands/ports.js';
import { describeError, ExitCode, UsageError } from './errors.js';
import { type Io, processIo } from './output.js';

const GLOBAL_OPTIONS: Options = {
  'lab-dir': { type: 'string' },
  prefix: { type: 'string' },
  host: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

const COMMANDS: Command[] = [
  {
    name: 'lab up',
    usage:
      'arca-net lab up [--hosts N] [--host-relay native|ts|polling] [--dns IP[:PORT]]... [--offload]',
    summary:
      'start the lab: helper namespace (OVS, OVN, controller) and the lab host process; ' +
      '--host-relay swaps the host relays for a reference engine (for comparisons); ' +
      "--dns sets the upstream resolvers (default: the lab's fake upstream 203.0.113.53); " +
      '--hosts N simulates a cluster of N hosts on an underlay (docs/cluster.md); ' +
      '--offload negotiates offload framing (TSO, 64 KiB segments) per attachment',
    options: {
      'host-relay': { type: 'string' },
      dns: { type: 'string', multiple: true },
      hosts: { type: 'string' },
      offload: { type: 'boolean' },
    },
    arity: [0, 0],
    run: (c, v) =>
      labUpCommand(c, {
        hostRelay: str(v, 'host-relay'),
        dns: list(v, 'dns'),
        hosts: str(v, 'hosts'),
        offload: v.offload === true,
      }).then(() => undefined),
  },
  {
    name: 'lab down',
    usage: 'arca-net lab down',
    summary: 'remove every namespace, process, socket and OVS/OVN object of the lab (idempotent)',
    options: {},
    arity: [0, 0],
    run: (c) => labDownCommand(c).then(() => undefined),
  },
  {
    name: 'lab status',
    usage: 'arca-net lab status [--json]',
    summary: 'components of the lab and their health (exit 3 when not running)',
    options: {},
    arity: [0, 0],
    run: (c) => labStatusCommand(c).then(() => undefined),
  },
  {
    name: 'lab run',
    usage:
      'arca-net lab run [--network NET] [--ip IP] [--alias A]... [-p [IP:][HOSTPORT:]PORT[/PROTO]]... [--offload auto|on|off] NAME',
    summary:
      "start a container VM (namespace + forwarder) connected to NET (default: the lab's 'bridge' network)",
    options: {
      network: { type: 'string' },
      ip: { type: 'string' },
      alias: { type: 'string', multiple: true },
      publish: { type: 'string', short: 'p', multiple: true },
      offload: { type: 'string' },
    },
    arity: [1, 1],
    run: (c, v, p) =>
      labRunCommand(c, at(p, 0), {
        network: str(v, 'network'),
        ip: str(v, 'ip'),
        aliases: list(v, 'alias'),
        publish: list(v, 'publish'),
        offload: str(v, 'offload'),
      }).then(() => undefined),
  },
  {
    name: 'lab exec',
    usage: 'arca-net lab exec NAME -- COMMAND [ARG]...',
    summary: "run a command in a container's namespace (its exit code is passed through)",
    options: {},
    arity: [1, 1],
    run: (c, _v, p, rest) => {
      if (rest.length === 0)
        throw new UsageError(
          'lab exec: no command given (usage: arca-net lab exec NAME -- COMMAND [ARG]...)',
        );
      return labExecCommand(c, at(p, 0), rest);
    },
  },
  {
    name: 'lab rm',
    usage: 'arca-net lab rm NAME...',
    summary: 'stop and remove containers (disconnects them from every network)',
    options: {},
    arity: [1, Number.POSITIVE_INFINITY],
    run: (c, _v, p) => labRmCommand(c, p).then(() => undefined),
  },
  {
    name: 'lab ps',
    usage: 'arca-net lab ps [--json]',
    summary: 'list lab containers and their addresses',
    options: {},
    arity: [0, 0],
    run: (c) => labPsCommand(c).then(() => undefined),
  },
  {
    name: 'lab port',
    usage: 'arca-net lab port [--json] NAME [PORT[/PROTO]]',
    summary: "a container's published ports, as 'docker port' lists them",
    options: {},
    arity: [1, 2],
    run: (c, _v, p) => labPortCommand(c, at(p, 0), p[1]).then(() => undefined),
  },
  {
    name: 'lab stats',
    usage: 'arca-net lab stats [--json] NAME',
    summary: "live relay counters of a container's attachments",
    options: {},
    arity: [1, 1],
    run: (c, _v, p) => labStatsCommand(c, at(p, 0)).then(() => undefined),
  },
  {
    name: 'lab demo',
    usage: 'arca-net lab demo [--keep] [--hosts N]',
    summary:
      'bring the lab up and tour it (two networks, three containers, DNS, isolation, counters); ' +
      '--hosts N: the cluster tour (an overlay network across N hosts)',
    options: { keep: { type: 'boolean' }, hosts: { type: 'string' } },
    arity: [0, 0],
    run: (c, v) =>
      labDemoCommand(c, { keep: v.keep === true, hosts: Number(str(v, 'hosts') ?? '1') }),
  },
  {
    name: 'network create',
    usage:
      'arca-net network create [-d bridge] [-o K=V]... [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [--internal] [--label K=V]... NETWORK',
    summary: 'create a network (-o com.docker.network.driver.mtu=N sets its MTU, 68..65535)',
    options: {
      driver: { type: 'string', short: 'd' },
      opt: { type: 'string', short: 'o', multiple: true },
      subnet: { type: 'string', multiple: true },
      gateway: { type: 'string' },
      'ip-range': { type: 'string' },
      internal: { type: 'boolean' },
      label: { type: 'string', multiple: true },
    },
    arity: [1, 1],
    run: (c, v, p) =>
      networkCreate(c, at(p, 0), {
        subnets: list(v, 'subnet'),
        driver: str(v, 'driver'),
        opts: list(v, 'opt'),
        gateway: str(v, 'gateway'),
        ipRange: str(v, 'ip-range'),
        internal: v.internal === true,
        labels: list(v, 'label'),
      }).then(() => undefined),
  },
  {
    name: 'network ls',
    usage:
      'arca-net network ls [-f name=|id=|driver=|label=]... [--format TEMPLATE] [--no-trunc] [--json] [-q]',
    summary: 'list networks (--format: {{.ID}} {{.Name}} {{.Driver}} … {{json .}}, table …)',
    options: {
      filter: { type: 'string', short: 'f', multiple: true },
      format: { type: 'string' },
      'no-trunc': { type: 'boolean' },
    },
    arity: [0, 0],
    run: (c, v) =>
      networkLs(c, {
        filters: list(v, 'filter'),
        format: str(v, 'format'),
        noTrunc: v['no-trunc'] === true,
      }).then(() => undefined),
  },
  {
    name: 'network prune',
    usage: 'arca-net network prune [--filter label=K[=V]]... [-f]',
    summary: 'remove all networks no container uses (-f: without asking)',
    options: { filter: { type: 'string', multiple: true }, force: { type: 'boolean', short: 'f' } },
    arity: [0, 0],
    run: (c, v) => networkPrune(c, { filters: list(v, 'filter'), force: v.force === true }),
  },
  {
    name: 'network inspect',
    usage: 'arca-net network inspect NETWORK...',
    summary: "display a network's details (JSON, as docker network inspect)",
    options: {},
    arity: [1, Number.POSITIVE_INFINITY],
    run: (c, _v, p) => networkInspect(c, p).then(() => undefined),
  },
  {
    name: 'network rm',
    usage: 'arca-net network rm NETWORK...',
    summary: 'remove networks (each one; exit 1 when any failed)',
    options: {},
    arity: [1, Number.POSITIVE_INFINITY],
    run: (c, _v, p) => networkRm(c, p),
  },
  {
    name: 'network connect',
    usage:
      'arca-net network connect [--ip IP] [--alias A]... [--gw-priority N] [--driver-opt arca-net.offload=auto|on|off] NETWORK CONTAINER',
    summary:
      'connect a container to a network (the highest --gw-priority carries the default route)',
    options: {
      ip: { type: 'string' },
      alias: { type: 'string', multiple: true },
      'gw-priority': { type: 'string' },
      'driver-opt': { type: 'string', multiple: true },
    },
    arity: [2, 2],
    run: (c, v, p) =>
      networkConnect(c, at(p, 0), at(p, 1), {
        ip: str(v, 'ip'),
        aliases: list(v, 'alias'),
        gwPriority: str(v, 'gw-priority'),
        driverOpts: list(v, 'driver-opt'),
      }).then(() => undefined),
  },
  {
    name: 'network disconnect',
    usage: 'arca-net network disconnect NETWORK CONTAINER',
    summary: 'disconnect a container from a network',
    options: {},
    arity: [2, 2],
    run: (c, _v, p) => networkDisconnect(c, at(p, 0), at(p, 1)).then(() => undefined),
  },
  ...LIFECYCLE_COMMANDS,
];

const ALIASES: Record<string, string> = {
  'network list': 'network ls',
  'network remove': 'network rm',
  'lab list': 'lab ps',
  'lab remove': 'lab rm',
};

/** The full help text. */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: arca-net COMMAND [OPTIONS]',
    '',
    'Docker networks on Open vSwitch/OVN for VM-per-container runtimes; the lab runs it all on this machine.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    `  ${'ovs-docker'.padEnd(width)}  Open vSwitch's ovs-docker script (add-port, del-port, del-ports, set-vlan; see 'arca-net ovs-docker --help')`,
    `  ${'ovs-docker watch'.padEnd(width)}  plug containers labelled arca-net.ovs.bridge into OVS on start, out on stop (Docker events; docs/ovs-docker.md)`,
    '',
    'Options of every command:',
    '  --lab-dir DIR   lab state directory (env ARCA_NET_LAB_DIR, default /run/arca-net/lab)',
    '  --prefix P      namespace name prefix for lab up (env ARCA_NET_LAB_PREFIX, default arcalab)',
    '  --host K        host K of a lab up with --hosts N (default 1): its containers and networks',
    '  --json          machine-readable output',
    '  -q, --quiet     only the essential output',
    '  -h, --help      help for the command',
    '',
    'Exit codes: 0 ok, 1 the request failed (unknown or duplicate name, …), 2 usage error,',
    '            3 the lab is not running or a prerequisite (root, OVS/OVN) is missing;',
    '            lab exec passes the command’s exit code through.',
    '',
  ].join('\n');
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  const words = argv.slice(0, 2).join(' ');
  const name = ALIASES[words] ?? words;
  const command = COMMANDS.find((c) => c.name === name);
  return command ? { command, rest: argv.slice(2) } : undefined;
}

/** Runs one command line; returns the exit code (never throws). */
export async function runCli(
  given: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const argv = globalsFirst(given, GLOBAL_OPTIONS);
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.out(helpText());
      return argv.length === 0 ? ExitCode.usage : ExitCode.ok;
    }
    if (argv[0] === 'ovs-docker') return await ovsDockerCommand(argv.slice(1), io, env);
    const found = findCommand(argv);
    if (!found) {
      const group = argv[0] ?? '';
      const known = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map(
        (c) => c.name.split(' ')[1],
      );
      throw new UsageError(
        known.length > 0
          ? `unknown command '${argv.slice(0, 2).join(' ')}': '${group}' takes ${known.join(', ')} (see 'arca-net --help')`
          : `unknown command '${group}' (see 'arca-net --help')`,
      );
    }
    const { command } = found;
    const separator = found.rest.indexOf('--');
    const own = separator < 0 ? found.rest : found.rest.slice(0, separator);
    const rest = separator < 0 ? [] : found.rest.slice(separator + 1);
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({
        args: own,
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      }) as { values: Values; positionals: string[] };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      // parseArgs explains at length; its first sentence is the one line that matters.
      const first = (text.split('\n')[0] ?? text).split('. ')[0] ?? text;
      throw new UsageError(`${command.name}: ${first} (see 'arca-net ${command.name} --help')`);
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      io.out(`Usage: ${command.usage}\n\n${command.summary}\n`);
      return ExitCode.ok;
    }
    const [min, max] = command.arity;
    if (positionals.length < min || positionals.length > max) {
      const expected =
        min === max
          ? `exactly ${min}`
          : max === Number.POSITIVE_INFINITY
            ? `at least ${min}`
            : `${min} to ${max}`;
      throw new UsageError(
        `'arca-net ${command.name}' requires ${expected} argument${min === 1 && max === 1 ? '' : 's'} (usage: ${command.usage})`,
      );
    }
    const config = labConfigFromEnv(env);
    const host = Number(str(values, 'host') ?? '1');
    if (!Number.isInteger(host) || host < 1) {
      throw new UsageError(`--host must be a host number from 1 (got '${str(values, 'host')}')`);
    }
    const labPaths = new LabPaths({
      dir: str(values, 'lab-dir') ?? config.dir,
      prefix: str(values, 'prefix') ?? config.prefix,
    });
    const context: CommandContext = {
      io,
      paths: hostPaths(labPaths, host),
      lab: { root: labPaths, host },
      json: values.json === true,
      quiet: values.quiet === true,
    };
    const code = await command.run(context, values, positionals, rest);
    return code ?? ExitCode.ok;
  } catch (error) {
    const [message, code] = describeError(error);
    io.err(`${message}\n`);
    return code;
  }
}
