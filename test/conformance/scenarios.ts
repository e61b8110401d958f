/**
 * The conformance scenarios: Docker CLI commands and raw Engine API requests,
 * each run the same way against a real dockerd and against a lab's
 * docker.sock, in this order (later ones see what earlier ones made). Both
 * sides start with containers c1 (port `PORT`/tcp published on 0.0.0.0) and
 * c2 on the default bridge.
 */

import { BUSYBOX_IMAGE } from '../ovs-docker/dockerd.js';

/** One request to the Engine API, the same on both sides. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  path: string;
  /** Sent as it is (not JSON-encoded), so malformed bodies can be sent too. */
  body?: string;
}

export interface Scenario {
  name: string;
  /** `docker ARGS…` */
  docker?: string[];
  /** A raw request; its status and body are compared. */
  http?: HttpRequest;
  /**
   * A command inside a container (`docker exec` on Docker, `arca-net lab exec`
   * on the lab: the API serves no exec), the same busybox on both sides.
   */
  exec?: { container: string; command: string[] };
  /**
   * A command on the engine's host: in dockerd's network namespace, or on
   * the lab's host itself (where published ports listen). `{port}` is c1's
   * published host port.
   */
  host?: string[];
  /**
   * What the API does not serve (containers come and go): Docker's CLI on
   * Docker, `arca-net` on the lab; only the exit code is compared.
   */
  lifecycle?: { docker: string[]; lab: string[] };
  /**
   * What Docker's output must contain: the scenario shows what it is named
   * for (an isolation that Docker itself does not enforce compares nothing).
   */
  expect?: string;
  /** The id of the documented difference (known.ts) this scenario shows, if any. */
  known?: string;
}

/** `nslookup NAME` at the embedded resolver, inside `container`. */
const lookup = (name: string, container: string, type = 'a'): Scenario => ({
  name: `DNS: ${name} from ${container}`,
  exec: { container, command: ['busybox', 'nslookup', `-type=${type}`, name, '127.0.0.11'] },
});
/** A one-line verdict of `ping -c 1` (times and TTLs differ by design, the verdict must not). */
const reach = (address: string): string[] => [
  'busybox',
  'sh',
  '-c',
  `busybox ping -c 1 -W 2 ${address} >/dev/null 2>&1 && echo ${address} reachable || echo ${address} unreachable`,
];
/** A TCP connection to the outside echo server (198.51.100.1:8080, test/conformance/outside.ts). */
const egress = (fields: string): string[] => [
  'busybox',
  'sh',
  '-c',
  `r=$(busybox nc -w 3 198.51.100.1 8080 </dev/null 2>&1); echo "exit $?"; echo "$r" | busybox cut -d ' ' -f ${fields}`,
];

const inspectFormat = (fields: string) => ['--format', fields];
const names = ['--format', '{{.Name}}'];

/**
 * `{id:NAME}` and `{prefix:NAME}` in `docker` arguments are that side's id of
 * network NAME; `{ambiguous}` (also in an http path) an id prefix two of its networks share.
 */
export function scenarios(): Scenario[] {
  const long = 'n'.repeat(300);
  const post = (path: string, body?: string): HttpRequest => ({ method: 'POST', path, body });
  return [
    // --- the engine ---------------------------------------------------------
    { name: 'API version', docker: ['version', '--format', '{{.Server.APIVersion}}'] },
    { name: 'ping', http: { method: 'GET', path: '/_ping' } },
    { name: 'ping (HEAD)', http: { method: 'HEAD', path: '/_ping' } },
    { name: 'version too new', http: { method: 'GET', path: '/v1.99/version' } },
    { name: 'unknown path', http: { method: 'GET', path: '/v1.41/nothing/here' } },

    // --- predefined networks -------------------------------------------------
    { name: 'network ls (fresh)', docker: ['network', 'ls'] },
    {
      name: 'network ls --format',
      docker: [
        'network',
        'ls',
        '--format',
        '{{.Name}} {{.Driver}} {{.Scope}} {{.IPv6}} {{.Internal}}',
      ],
    },
    {
      name: 'network inspect bridge',
      docker: [
        'network',
        'inspect',
        'bridge',
        '--format',
        '{{.Name}} {{.Driver}} {{json .IPAM}} {{.Internal}} {{json .Labels}}',
      ],
    },
    {
      name: 'the default bridge: its driver options',
      docker: ['network', 'inspect', 'bridge', '--format', '{{json .Options}}'],
      known: 'bridge-options',
    },
    {
      name: 'the default bridge: addresses of c1 and c2',
      docker: [
        'inspect',
        'c1',
        'c2',
        '--format',
        '{{.Name}} {{.NetworkSettings.IPAddress}}/{{.NetworkSettings.IPPrefixLen}} gw {{.NetworkSettings.Gateway}}',
      ],
    },
    {
      name: 'the default bridge: MAC addresses',
      docker: ['inspect', 'c1', 'c2', '--format', '{{.Name}} {{.NetworkSettings.MacAddress}}'],
      known: 'mac-address',
    },
    { name: 'network inspect host', docker: ['network', 'inspect', 'host'] },
    { name: 'network inspect none', docker: ['network', 'inspect', 'none'] },

    // --- network create, every option --------------------------------------
    {
      name: 'create with every option',
      docker: [
        'network',
        'create',
        '--driver',
        'bridge',
        '--subnet',
        '10.231.0.0/24',
        '--gateway',
        '10.231.0.254',
        '--ip-range',
        '10.231.0.128/25',
        '--internal',
        '--label',
        'env=test',
        '--label',
        'tier',
        '-o',
        'com.docker.network.driver.mtu=1400',
        'n1',
      ],
    },
    { name: 'inspect it', docker: ['network', 'inspect', 'n1'] },
    {
      name: 'inspect --format',
      docker: [
        'network',
        'inspect',
        'n1',
        ...inspectFormat(
          '{{.Name}} {{.Driver}} {{.Internal}} {{json .Labels}} {{json .Options}} {{json .IPAM.Config}}',
        ),
      ],
    },
    { name: 'create with defaults', docker: ['network', 'create', 'n2'] },
    {
      name: 'its subnet from the default pools',
      docker: ['network', 'inspect', 'n2', ...inspectFormat('{{json .IPAM}}')],
    },
    { name: 'create -d bridge (next pool)', docker: ['network', 'create', '-d', 'bridge', 'n3'] },
    {
      name: 'next default pool',
      docker: ['network', 'inspect', 'n3', ...inspectFormat('{{json .IPAM.Config}}')],
    },
    {
      name: 'create --subnet only',
      docker: ['network', 'create', '--subnet', '10.232.0.0/16', 'n4'],
    },
    {
      name: 'gateway defaults to the first address',
      docker: ['network', 'inspect', 'n4', ...inspectFormat('{{json .IPAM.Config}}')],
    },
    { name: 'inspect two at once', docker: ['network', 'inspect', 'n3', 'n4', ...names] },
    {
      name: 'inspect by unique id prefix',
      docker: ['network', 'inspect', '--format', '{{.Name}}', '{prefix:n4}'],
    },
    { name: 'rm by full id', docker: ['network', 'rm', '{id:n4}'] },
    { name: 'create it again', docker: ['network', 'create', '--subnet', '10.232.0.0/16', 'n4'] },

    // --- network create, errors ---------------------------------------------
    { name: 'create: name taken', docker: ['network', 'create', 'n1'] },
    { name: 'create: predefined name', docker: ['network', 'create', 'bridge'] },
    { name: 'create: unknown driver', docker: ['network', 'create', '--driver', 'nosuch', 'x1'] },
    { name: 'create: host driver', docker: ['network', 'create', '--driver', 'host', 'x1'] },
    {
      name: 'create: overlapping subnet',
      docker: ['network', 'create', '--subnet', '10.231.0.0/25', 'x1'],
    },
    { name: 'create: bad subnet', docker: ['network', 'create', '--subnet', 'nonsense', 'x1'] },
    {
      name: 'create: gateway outside the subnet',
      docker: ['network', 'create', '--subnet', '10.233.0.0/24', '--gateway', '10.234.0.1', 'x1'],
    },
    {
      name: 'create: ip-range outside the subnet',
      docker: [
        'network',
        'create',
        '--subnet',
        '10.233.0.0/24',
        '--ip-range',
        '10.234.0.0/25',
        'x1',
      ],
    },
    {
      name: 'create: two subnets',
      docker: ['network', 'create', '--subnet', '10.233.0.0/24', '--subnet', '10.235.0.0/24', 'x1'],
    },
    {
      name: 'create: gateway without subnet',
      docker: ['network', 'create', '--gateway', '10.233.0.1', 'x1'],
    },
    { name: 'create: IPv6', docker: ['network', 'create', '--ipv6', 'x1'] },
    { name: 'nothing half made', docker: ['network', 'ls', '--format', '{{.Name}}'] },

    // --- network ls --------------------------------------------------------
    { name: 'ls -q', docker: ['network', 'ls', '-q'] },
    {
      name: 'ls --filter name',
      docker: ['network', 'ls', '--filter', 'name=n', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter name (regexp)',
      docker: ['network', 'ls', '--filter', 'name=^n[12]$', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter label=k',
      docker: ['network', 'ls', '--filter', 'label=tier', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter label=k=v',
      docker: ['network', 'ls', '--filter', 'label=env=test', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter driver',
      docker: ['network', 'ls', '--filter', 'driver=bridge', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter type=custom',
      docker: ['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter type=builtin',
      docker: ['network', 'ls', '--filter', 'type=builtin', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter scope',
      docker: ['network', 'ls', '--filter', 'scope=local', '--format', '{{.Name}}'],
    },
    {
      name: 'ls --filter dangling=true',
      docker: ['network', 'ls', '--filter', 'dangling=true', '--format', '{{.Name}}'],
    },
    {
      name: 'ls: two filters',
      docker: [
        'network',
        'ls',
        '--filter',
        'name=n',
        '--filter',
        'label=env',
        '--format',
        '{{.Name}}',
      ],
    },
    { name: 'ls: unknown filter', docker: ['network', 'ls', '--filter', 'colour=red'] },
    { name: 'ls: bad dangling value', docker: ['network', 'ls', '--filter', 'dangling=maybe'] },
    {
      name: 'ls --no-trunc',
      docker: ['network', 'ls', '--no-trunc', '--format', '{{.ID}} {{.Name}}'],
    },

    // --- connect and disconnect ----------------------------------------------
    { name: 'connect', docker: ['network', 'connect', 'n2', 'c1'] },
    {
      name: 'connect: static IP on an automatic subnet',
      docker: ['network', 'connect', '--ip', '172.18.0.50', 'n2', 'c2'],
    },
    {
      name: 'connect --alias',
      docker: ['network', 'connect', '--alias', 'web', '--alias', 'www', 'n2', 'c2'],
    },
    {
      name: 'the network counts both',
      docker: ['network', 'inspect', 'n2', '--format', '{{len .Containers}}'],
    },
    {
      name: 'each container on the network',
      docker: [
        'inspect',
        'c1',
        'c2',
        '--format',
        '{{.Name}}{{with index .NetworkSettings.Networks "n2"}} {{.IPAddress}}/{{.IPPrefixLen}} gw {{.Gateway}} {{json .IPAMConfig}}{{end}}',
      ],
    },
    {
      name: 'aliases in inspect',
      docker: [
        'inspect',
        'c2',
        '--format',
        '{{with index .NetworkSettings.Networks "n2"}}{{len .Aliases}}{{range .Aliases}} {{.}}{{end}}{{end}}',
      ],
    },
    // DNS from inside: Docker's embedded resolver 127.0.0.11 and the lab's
    {
      name: 'DNS: a container name',
      exec: { container: 'c1', command: ['busybox', 'nslookup', '-type=a', 'c2', '127.0.0.11'] },
    },
    {
      name: 'DNS: an alias',
      exec: { container: 'c1', command: ['busybox', 'nslookup', '-type=a', 'www', '127.0.0.11'] },
    },
    {
      name: 'DNS: name.network',
      exec: { container: 'c1', command: ['busybox', 'nslookup', '-type=a', 'c2.n2', '127.0.0.11'] },
    },
    {
      name: 'DNS: AAAA of a container (none)',
      exec: { container: 'c1', command: ['busybox', 'nslookup', '-type=aaaa', 'c2', '127.0.0.11'] },
    },
    {
      name: 'DNS: a short id',
      exec: {
        container: 'c1',
        command: ['busybox', 'nslookup', '-type=a', '{short:c2}', '127.0.0.11'],
      },
    },
    {
      name: 'DNS: PTR',
      exec: { container: 'c1', command: ['busybox', 'nslookup', '172.18.0.3', '127.0.0.11'] },
    },
    {
      name: 'routes after connect',
      exec: { container: 'c1', command: ['busybox', 'ip', 'route'] },
    },
    {
      name: 'connect --ip --alias on a user subnet',
      docker: ['network', 'connect', '--ip', '10.232.0.50', '--alias', 'db', 'n4', 'c2'],
    },
    {
      name: 'its static address in inspect',
      docker: [
        'inspect',
        'c2',
        '--format',
        '{{with index .NetworkSettings.Networks "n4"}}{{.IPAddress}}/{{.IPPrefixLen}} gw {{.Gateway}} {{json .IPAMConfig}}{{end}}',
      ],
    },
    {
      name: 'the network lists it',
      docker: [
        'network',
        'inspect',
        'n4',
        '--format',
        '{{range .Containers}}{{.Name}} {{.IPv4Address}} [{{.IPv6Address}}]{{end}}',
      ],
    },
    {
      name: 'connect by id prefix of the network',
      docker: ['network', 'connect', '{prefix:n4}', 'c1'],
    },
    {
      name: 'connect to an ip-range network with a static IP',
      docker: ['network', 'connect', '--ip', '10.231.0.5', 'n1', 'c2'],
    },
    {
      name: 'the internal network',
      docker: [
        'inspect',
        'c2',
        '--format',
        '{{with index .NetworkSettings.Networks "n1"}}{{.IPAddress}}/{{.IPPrefixLen}} gw {{.Gateway}}{{end}}',
      ],
    },
    {
      name: 'networks of the containers',
      docker: [
        'inspect',
        'c1',
        'c2',
        '--format',
        '{{.Name}}{{range $k, $v := .NetworkSettings.Networks}} {{$k}}{{end}}',
      ],
    },
    { name: 'connect: already connected', docker: ['network', 'connect', 'n2', 'c1'] },
    { name: 'connect: unknown container', docker: ['network', 'connect', 'n2', 'nosuch'] },
    { name: 'connect: unknown network', docker: ['network', 'connect', 'nosuch', 'c1'] },
    {
      name: 'connect: IP outside the subnet',
      docker: ['network', 'connect', '--ip', '10.232.0.60', 'n1', 'c1'],
    },
    {
      name: 'connect: IP in use',
      docker: ['network', 'connect', '--ip', '10.231.0.5', 'n1', 'c1'],
    },
    { name: 'connect: bad IP', docker: ['network', 'connect', '--ip', '300.1.1.1', 'n1', 'c1'] },
    {
      name: 'c1 after three refused connects',
      docker: [
        'inspect',
        'c1',
        '--format',
        '{{range $k, $v := .NetworkSettings.Networks}} {{$k}}{{end}}',
      ],
      known: 'failed-connect-leftover',
    },
    {
      name: 'connect: static IP on the default bridge',
      docker: ['network', 'connect', '--ip', '172.17.0.9', 'bridge', 'c1'],
    },
    { name: 'connect: host network', docker: ['network', 'connect', 'host', 'c1'] },
    { name: 'disconnect', docker: ['network', 'disconnect', 'n2', 'c2'] },
    { name: 'disconnect: not connected', docker: ['network', 'disconnect', 'n2', 'c2'] },
    { name: 'disconnect: unknown container', docker: ['network', 'disconnect', 'n2', 'nosuch'] },
    { name: 'disconnect --force', docker: ['network', 'disconnect', '--force', 'n1', 'c2'] },
    {
      name: 'its address is free again',
      docker: ['network', 'connect', '--ip', '10.231.0.5', 'n1', 'c1'],
    },
    {
      name: 'routes with an internal network',
      exec: { container: 'c1', command: ['busybox', 'ip', 'route'] },
    },
    {
      name: 'disconnect from the default bridge',
      docker: ['network', 'disconnect', 'bridge', 'c2'],
    },
    {
      name: 'routes: the default route moves',
      exec: { container: 'c2', command: ['busybox', 'ip', 'route'] },
    },
    {
      name: 'connect --driver-opt',
      docker: ['network', 'connect', '--driver-opt', 'com.example.opt=1', 'n3', 'c2'],
    },
    {
      name: 'driver options in inspect',
      docker: [
        'inspect',
        'c2',
        '--format',
        '{{json (index .NetworkSettings.Networks "n3").DriverOpts}}',
      ],
    },
    { name: 'disconnect it again', docker: ['network', 'disconnect', 'n3', 'c2'] },
    { name: 'rm: in use', docker: ['network', 'rm', 'n2'] },
    {
      name: 'ls --filter dangling=false',
      docker: ['network', 'ls', '--filter', 'dangling=false', '--format', '{{.Name}}'],
      known: 'dangling-filter',
    },

    // --- containers: ps, inspect, port -------------------------------------
    { name: 'ps --format', docker: ['ps', '--format', '{{.Names}} {{.Ports}} {{.State}}'] },
    { name: 'ps --filter name', docker: ['ps', '--filter', 'name=c1', '--format', '{{.Names}}'] },
    {
      name: 'ps --filter network',
      docker: ['ps', '--filter', 'network=n4', '--format', '{{.Names}}'],
    },
    { name: 'ps -q', docker: ['ps', '-q'] },
    { name: 'ps: status', docker: ['ps', '--format', '{{.Names}} {{.Status}}'] },
    { name: 'port', docker: ['port', 'c1'] },
    { name: 'port 80/tcp', docker: ['port', 'c1', '80/tcp'] },
    { name: 'port: none published there', docker: ['port', 'c1', '81'] },
    { name: 'port: nothing published', docker: ['port', 'c2'] },
    {
      name: 'a server in c1 on port 80',
      exec: {
        container: 'c1',
        command: [
          'busybox',
          'sh',
          '-c',
          'busybox nc -l -p 80 -e busybox echo hello-from-c1 </dev/null >/dev/null 2>&1 &',
        ],
      },
    },
    {
      name: 'the published port from the host loopback',
      host: [
        'busybox',
        'sh',
        '-c',
        // Until the server in c1 listens (a bounded poll: 50 tries).
        'for i in $(busybox seq 50); do r=$(busybox nc 127.0.0.1 {port}); [ -n "$r" ] && echo "$r" && exit 0; busybox usleep 100000; done; exit 1',
      ],
    },
    {
      name: 'inspect ports',
      docker: ['inspect', 'c1', '--format', '{{json .NetworkSettings.Ports}}'],
    },
    {
      name: 'inspect name and state',
      docker: ['inspect', 'c1', '--format', '{{.Name}} {{.State.Status}} {{.State.Running}}'],
    },
    {
      name: 'inspect --type container',
      docker: ['inspect', '--type', 'container', 'c2', '--format', '{{.Name}}'],
    },
    { name: 'inspect: unknown object', docker: ['inspect', 'nosuch'] },
    { name: 'container inspect: unknown', docker: ['container', 'inspect', 'nosuch'] },

    // --- rm and prune ---------------------------------------------------------
    { name: 'rm two', docker: ['network', 'rm', 'n3', 'x1'] },
    { name: 'rm: predefined', docker: ['network', 'rm', 'bridge'] },
    { name: 'rm: none', docker: ['network', 'rm', 'none'] },
    { name: 'rm: unknown', docker: ['network', 'rm', 'nosuch'] },
    {
      name: 'prune --filter label',
      docker: ['network', 'prune', '-f', '--filter', 'label=env=test'],
    },
    { name: 'prune', docker: ['network', 'prune', '-f'] },
    { name: 'what is left', docker: ['network', 'ls', '--format', '{{.Name}}'] },

    // --- last: what Docker accepts and the lab refuses (nothing after this lists networks) ---
    {
      name: 'create: subnet with host bits',
      docker: ['network', 'create', '--subnet', '10.233.0.1/24', 'x9'],
      known: 'subnet-host-bits',
    },
    {
      name: 'create: name with a space',
      docker: ['network', 'create', 'a b'],
      known: 'network-names',
    },
    {
      name: 'create: 300-character name',
      docker: ['network', 'create', long],
      known: 'network-names',
    },

    // --- bad input, raw -------------------------------------------------------
    { name: 'malformed JSON', http: post('/v1.41/networks/create', '{bad') },
    { name: 'empty body', http: post('/v1.41/networks/create', '') },
    { name: 'body is an array', http: post('/v1.41/networks/create', '[]') },
    { name: 'Name is a number', http: post('/v1.41/networks/create', '{"Name":5}') },
    {
      name: 'Internal is a string',
      http: post('/v1.41/networks/create', '{"Name":"b1","Internal":"yes"}'),
    },
    { name: 'Labels is a list', http: post('/v1.41/networks/create', '{"Name":"b1","Labels":[]}') },
    {
      name: 'a label value is a number',
      http: post('/v1.41/networks/create', '{"Name":"b1","Labels":{"k":1}}'),
    },
    {
      name: 'Subnet is a number',
      http: post('/v1.41/networks/create', '{"Name":"b1","IPAM":{"Config":[{"Subnet":5}]}}'),
    },
    { name: 'no name', http: post('/v1.41/networks/create', '{}') },
    {
      name: 'unknown fields tolerated, names case-insensitive',
      http: post('/v1.41/networks/create', '{"name":"b2","Bogus":{"x":1},"labels":{"k":"v"}}'),
    },
    {
      name: 'it was made',
      docker: ['network', 'inspect', 'b2', '--format', '{{.Name}} {{json .Labels}}'],
    },
    {
      name: 'connect: Container is a number',
      http: post('/v1.41/networks/b2/connect', '{"Container":5}'),
    },
    {
      name: 'connect: Aliases is a string',
      http: post(
        '/v1.41/networks/b2/connect',
        '{"Container":"c1","EndpointConfig":{"Aliases":"x"}}',
      ),
    },
    {
      name: 'connect: IPv4Address is a number',
      http: post(
        '/v1.41/networks/b2/connect',
        '{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":4}}}',
      ),
    },
    {
      name: 'connect: unknown container',
      http: post('/v1.41/networks/b2/connect', '{"Container":"nosuch"}'),
    },
    {
      name: 'connect: unknown network',
      http: post('/v1.41/networks/nosuch/connect', '{"Container":"c1"}'),
    },
    {
      name: 'disconnect: Force is a string',
      http: post('/v1.41/networks/b2/disconnect', '{"Container":"c1","Force":"x"}'),
    },
    { name: 'inspect: unknown network', http: { method: 'GET', path: '/v1.41/networks/nosuch' } },
    { name: 'delete: unknown network', http: { method: 'DELETE', path: '/v1.41/networks/nosuch' } },
    { name: 'delete: host', http: { method: 'DELETE', path: '/v1.41/networks/host' } },
    { name: 'filters: malformed', http: { method: 'GET', path: '/v1.41/networks?filters=%7Bbad' } },
    {
      name: 'filters: bad type',
      http: { method: 'GET', path: '/v1.41/networks?filters=%7B%22type%22%3A%5B%22x%22%5D%7D' },
    },
    { name: 'containers: unknown', http: { method: 'GET', path: '/v1.41/containers/nosuch/json' } },
    {
      name: 'prune: unknown filter',
      http: post('/v1.41/networks/prune?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D'),
    },
    { name: 'inspect: ambiguous id prefix', docker: ['network', 'inspect', '{ambiguous}'] },
    {
      name: 'GET: ambiguous id prefix',
      http: { method: 'GET', path: '/v1.41/networks/{ambiguous}' },
    },
    { name: 'rm: ambiguous id prefix', docker: ['network', 'rm', '{ambiguous}'] },
    { name: 'connect: ambiguous id prefix', docker: ['network', 'connect', '{ambiguous}', 'c2'] },
    { name: 'still serving', docker: ['network', 'rm', 'b2'] },

    // --- names through the upstream, scoping, removal; isolation, egress, UDP ---
    // dockerd's --dns and the lab's upstream are the same fake resolver
    // (packages/lab/src/upstream) at 203.0.113.53; s1/s2 are two user
    // networks, s3 an internal one; c3 lives on s2 only, c4 on s3 only.
    { name: 'network s1', docker: ['network', 'create', '--subnet', '10.240.1.0/24', 's1'] },
    { name: 'network s2', docker: ['network', 'create', '--subnet', '10.240.2.0/24', 's2'] },
    {
      name: 'network s3 (internal)',
      docker: ['network', 'create', '--internal', '--subnet', '10.240.3.0/24', 's3'],
    },
    { name: 'c1 joins s1', docker: ['network', 'connect', '--ip', '10.240.1.10', 's1', 'c1'] },
    {
      name: 'c2 joins s1 with an alias',
      docker: ['network', 'connect', '--ip', '10.240.1.20', '--alias', 'peer', 's1', 'c2'],
    },
    {
      name: 'c3 on s2 only, with an alias and a published UDP port',
      lifecycle: {
        docker: [
          ...['run', '-d', '--name', 'c3', '--network', 's2', '--ip', '10.240.2.30'],
          ...['--network-alias', 'only2', '-p', '0.0.0.0:{udpPort}:9053/udp'],
          ...[BUSYBOX_IMAGE, 'sleep', '1000000'],
        ],
        lab: [
          ...['lab', 'run', '--network', 's2', '--ip', '10.240.2.30', '--alias', 'only2'],
          ...['-p', '0.0.0.0:{udpPort}:9053/udp', 'c3'],
        ],
      },
    },
    {
      name: 'c4 on the internal network s3 only',
      lifecycle: {
        docker: [
          ...['run', '-d', '--name', 'c4', '--network', 's3', '--ip', '10.240.3.40'],
          ...[BUSYBOX_IMAGE, 'sleep', '1000000'],
        ],
        lab: ['lab', 'run', '--network', 's3', '--ip', '10.240.3.40', 'c4'],
      },
    },
    lookup('www.example.com', 'c1'),
    lookup('external.example', 'c3'),
    lookup('nosuch.example', 'c1'),
    lookup('nosuchhost', 'c1'),
    { ...lookup('www.example.com', 'c4'), known: 'internal-upstream' },
    lookup('peer', 'c1'),
    lookup('c2.s1', 'c1'),
    // scoping: c3 and its alias are on s2 only
    lookup('c3', 'c1'),
    lookup('only2', 'c1'),
    lookup('c3.s2', 'c1'),
    lookup('c1', 'c3'),
    lookup('c2.s1', 'c3'),
    // isolation: c1 (default route via the default bridge) and c3 (via s2) share no network
    {
      name: 'same network: c1 reaches c2',
      exec: { container: 'c1', command: reach('10.240.1.20') },
      expect: '10.240.1.20 reachable',
    },
    {
      name: 'isolation: c1 cannot reach c3 on s2',
      exec: { container: 'c1', command: reach('10.240.2.30') },
      expect: 'unreachable',
    },
    {
      name: 'isolation: c3 cannot reach c1 on s1',
      exec: { container: 'c3', command: reach('10.240.1.10') },
      expect: 'unreachable',
    },
    {
      name: 'isolation: c3 cannot reach c4 on s3',
      exec: { container: 'c3', command: reach('10.240.3.40') },
      expect: 'unreachable',
    },
    // egress to the outside namespace's echo server, and its refusal on an internal network
    {
      name: 'egress: c3 reaches a server outside',
      exec: { container: 'c3', command: egress('1') },
      expect: 'hello-from-outside',
    },
    {
      name: 'egress: the source address the outside sees',
      exec: { container: 'c3', command: egress('1-2') },
      known: 'snat-address',
    },
    {
      name: 'egress: c4 on an internal network is refused',
      exec: { container: 'c4', command: egress('1-') },
      expect: 'exit 1',
      known: 'internal-default-route',
    },
    {
      name: 'routes of c4 (internal only)',
      exec: { container: 'c4', command: ['busybox', 'ip', 'route'] },
      known: 'internal-default-route',
    },
    // a published UDP port: udp-echo.c in c3, a datagram from the host's loopback
    {
      name: 'a UDP server in c3 on port 53 (all addresses)',
      exec: {
        container: 'c3',
        command: ['busybox', 'sh', '-c', 'busybox timeout 1 {udpEcho} 53; echo "exit $?"'],
      },
      known: 'port-53',
    },
    {
      name: 'a UDP echo server in c3 on port 9053',
      exec: {
        container: 'c3',
        command: ['busybox', 'sh', '-c', '{udpEcho} 9053 </dev/null >/dev/null 2>&1 &'],
      },
    },
    { name: 'port c3', docker: ['port', 'c3'] },
    {
      name: 'the published UDP port from the host loopback',
      host: [
        'node',
        '-e',
        // Until the server in c3 answers (a bounded poll: 50 datagrams, 100 ms apart).
        "const d = require('node:dgram').createSocket('udp4'); let n = 0; d.on('message', (m) => { console.log(String(m)); process.exit(0); }); const send = () => { if (n++ === 50) { console.log('no answer'); process.exit(1); } d.send('hello', {udpPort}, '127.0.0.1'); setTimeout(send, 100); }; send();",
      ],
      expect: 'udp-echo: hello',
    },
    // names after disconnect and after removal
    { name: 'c2 leaves s1', docker: ['network', 'disconnect', 's1', 'c2'] },
    { ...lookup('peer', 'c1'), name: 'DNS: peer from c1 after c2 left s1' },
    { ...lookup('c2.s1', 'c1'), name: 'DNS: c2.s1 from c1 after c2 left s1' },
    { name: 'c1 joins s2', docker: ['network', 'connect', 's2', 'c1'] },
    { ...lookup('c3', 'c1'), name: 'DNS: c3 from c1 on a shared network' },
    { ...lookup('only2', 'c1'), name: 'DNS: only2 from c1 on a shared network' },
    { name: 'c3 removed', lifecycle: { docker: ['rm', '-f', 'c3'], lab: ['lab', 'rm', 'c3'] } },
    { ...lookup('c3', 'c1'), name: 'DNS: c3 from c1 after its removal', expect: "can't find" },
    { ...lookup('only2', 'c1'), name: 'DNS: only2 from c1 after its removal' },
    { ...lookup('c3.s2', 'c1'), name: 'DNS: c3.s2 from c1 after its removal' },
  ];
}
