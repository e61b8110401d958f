/**
 * Where a lab keeps its state: one directory holds every socket, pidfile, log,
 * database and the lab's settings, so `lab down` can find everything it made.
 *
 * ```
 * <lab>/lab.json             settings of the running lab (prefix, created)
 * <lab>/host.sock            the lab host's API (node:http on a Unix socket, api/routes.ts)
 * <lab>/docker.sock          Docker's Engine API for networks (docker-api/; DOCKER_HOST=unix://…)
 * <lab>/host.pid, host.db    the lab host process and its SQLite state
 * <lab>/helper/{state,run}   helpervm/startup.sh's ARCA_HELPER_STATE and ARCA_HELPER_RUN
 * <lab>/vms/helper/          the helper "VM"'s vsock ports (9999.sock, 3xxxx.sock)
 * <lab>/vms/<container>/     a container "VM"'s vsock ports (5555.sock, 2xxxx.sock)
 * <lab>/pids/<name>.pid      forwarder processes
 * <lab>/logs/*.log           every process's stderr
 * ```
 *
 * Namespaces: `<prefix>-helper`, `<prefix>-outside` (the outside world behind
 * the helper's uplink), `<prefix>-c-<id12>` per container.
 */
import { join } from 'node:path';
import { HELPER_CONTROL_PORT } from '@arca-net/proto';

/** Default lab directory (overridden by `--lab-dir` or `ARCA_NET_LAB_DIR`). */
export const DEFAULT_LAB_DIR = '/run/arca-net/lab';
/** Default prefix of every namespace the lab creates (`ARCA_NET_LAB_PREFIX`). */
export const DEFAULT_LAB_PREFIX = 'arcalab';

/** A lab's location and naming. */
export interface LabConfig {
  /** Absolute lab directory. */
  dir: string;
  /** Prefix of namespace names: `<prefix>-helper`, `<prefix>-outside`, `<prefix>-c-<id12>`. */
  prefix: string;
}

/** The lab settings the environment asks for (flags override them). */
export function labConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LabConfig {
  return {
    dir: env.ARCA_NET_LAB_DIR || DEFAULT_LAB_DIR,
    prefix: env.ARCA_NET_LAB_PREFIX || DEFAULT_LAB_PREFIX,
  };
}

/** Every path and name of one lab. */
export class LabPaths {
  constructor(readonly config: LabConfig) {}

  get dir(): string {
    return this.config.dir;
  }
  get settings(): string {
    return join(this.dir, 'lab.json');
  }
  get hostSocket(): string {
    return join(this.dir, 'host.sock');
  }
  /** Docker's Engine API for networks and lab containers (docker-api/). */
  get dockerSocket(): string {
    return join(this.dir, 'docker.sock');
  }
  get hostPidfile(): string {
    return join(this.dir, 'host.pid');
  }
  get hostDb(): string {
    return join(this.dir, 'host.db');
  }
  get helperState(): string {
    return join(this.dir, 'helper', 'state');
  }
  get helperRun(): string {
    return join(this.dir, 'helper', 'run');
  }
  get vmsDir(): string {
    return join(this.dir, 'vms');
  }
  /** The helper VM's port directory (`unixdir:` endpoint). */
  get helperVmDir(): string {
    return join(this.vmsDir, 'helper');
  }
  /** The controller's NetworkControl socket (port 9999). */
  get controllerSocket(): string {
    return join(this.helperVmDir, `${HELPER_CONTROL_PORT}.sock`);
  }
  get pidsDir(): string {
    return join(this.dir, 'pids');
  }
  get logsDir(): string {
    return join(this.dir, 'logs');
  }
  log(name: string): string {
    return join(this.logsDir, `${name}.log`);
  }
  /** A container VM's port directory (`unixdir:` endpoint). */
  containerVmDir(name: string): string {
    return join(this.vmsDir, `c-${name}`);
  }
  /** The pidfile of `helpervm/startup.sh run`: the helper's supervisor (of the controller and OVS/OVN). */
  get helperPidfile(): string {
    return join(this.pidsDir, 'helper.pid');
  }
  containerPidfile(name: string): string {
    return join(this.pidsDir, `c-${name}.pid`);
  }
  /** Name of the helper namespace. */
  get helperNamespace(): string {
    return `${this.config.prefix}-helper`;
  }
  /** Name of the outside-world namespace (the far end of the helper's uplink). */
  get outsideNamespace(): string {
    return `${this.config.prefix}-outside`;
  }
  /** Name of the fake upstream resolver's namespace (203.0.113.53, behind the outside world). */
  get upstreamNamespace(): string {
    return `${this.config.prefix}-upstream`;
  }
  /** Name of a container's namespace, from the container id. */
  containerNamespace(containerId: string): string {
    return `${this.config.prefix}-c-${containerId.slice(0, 12)}`;
  }
  /** The same lab directory with another namespace prefix (the one `lab.json` recorded). */
  withPrefix(prefix: string): LabPaths {
    return new LabPaths({ dir: this.config.dir, prefix });
  }
  /** True for every namespace name this lab may have created. */
  ownsNamespace(name: string): boolean {
    return (
      name === this.helperNamespace ||
      name === this.outsideNamespace ||
      name === this.upstreamNamespace ||
      name.startsWith(`${this.config.prefix}-c-`) ||
      // a cluster (cluster.ts): the underlay and the namespaces of hosts 2… (`<prefix>-hK-…`)
      name === `${this.config.prefix}-underlay` ||
      new RegExp(`^${this.config.prefix.replace(/[^A-Za-z0-9]/g, '\\$&')}-h\\d+-`).test(name)
    );
  }
}
