/**
 * A restarted ovs-vswitchd (the helper's supervisor, helpervm/startup.sh)
 * reopens every port with new AF_PACKET sockets at rmem_default, and nothing
 * plugs a port to raise them again (port-buffers.ts). The controller watches
 * the daemon's pidfile (inotify on the run directory) and, for a new pid,
 * raises its port sockets as it reopens them: a bounded poll until as many
 * sockets changed as OVS has system ports (each read through one packet
 * socket), logged either way.
 */
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@arca-net/log';
import { raisePacketReceiveBuffers } from '@arca-net/vsock';
import { ovsPortRcvbuf } from './port-buffers.js';

const PIDFILE = 'ovs-vswitchd.pid';

/** Options of {@link VswitchdRestarts}. */
export interface VswitchdRestartsOptions {
  /** The daemons' run directory (`ovs-vswitchd.pid`). */
  runDir: string;
  log: Logger;
  /** How many packet sockets the daemon opens: its system ports (OVSDB `Interface` rows of type ""). */
  systemPorts(): Promise<number>;
  /** How long a restarted daemon's ports are waited for (default 30 s). */
  timeoutMs?: number;
  /** Between two raises while waiting (default 100 ms). */
  intervalMs?: number;
}

async function readPid(runDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(runDir, PIDFILE), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Raises the port socket buffers of every new ovs-vswitchd; one owner, one {@link close}. */
export class VswitchdRestarts {
  private readonly watcher: FSWatcher | undefined;
  private readonly abort = new AbortController();
  private pid: number | undefined;
  /** The check in progress; a pidfile event meanwhile asks for one more. */
  private checking: Promise<void> | undefined;
  private again = false;

  /** Starts watching; undefined when ARCA_OVS_PORT_RCVBUF=0 or the directory cannot be watched. */
  static async start(options: VswitchdRestartsOptions): Promise<VswitchdRestarts | undefined> {
    if (ovsPortRcvbuf() === 0) return undefined;
    const restarts = new VswitchdRestarts(options);
    if (!restarts.watcher) return undefined;
    restarts.pid = await readPid(options.runDir);
    return restarts;
  }

  private constructor(private readonly options: VswitchdRestartsOptions) {
    try {
      this.watcher = watch(options.runDir, { persistent: false }, (_event, filename) => {
        if (filename === PIDFILE) this.check();
      });
      this.watcher.on('error', (error) => {
        options.log.warn({ err: String(error) }, 'stopped watching ovs-vswitchd restarts');
      });
    } catch (error) {
      options.log.warn({ err: String(error) }, 'cannot watch ovs-vswitchd restarts');
    }
  }

  /** Resolves once no check runs (tests). */
  async settled(): Promise<void> {
    while (this.checking) await this.checking;
  }

  close(): void {
    this.abort.abort();
    this.watcher?.close();
  }

  private check(): void {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.checkPid()
      .catch((error: unknown) => {
        this.options.log.warn(
          { err: String(error) },
          'cannot raise ovs-vswitchd port socket buffers',
        );
      })
      .finally(() => {
        this.checking = undefined;
        if (this.again && !this.abort.signal.aborted) {
          this.again = false;
          this.check();
        }
      });
  }

  private async checkPid(): Promise<void> {
    const pid = await readPid(this.options.runDir);
    if (pid === undefined || pid === this.pid) return;
    const previous = this.pid;
    this.pid = pid;
    const { log } = this.options;
    const bytes = ovsPortRcvbuf();
    // Unreadable (its ovsdb-server restarts too): wait for one port at least.
    const ports = await this.options.systemPorts().catch(() => 1);
    const deadline = Date.now() + (this.options.timeoutMs ?? 30_000);
    let raised = 0;
    for (;;) {
      try {
        raised += raisePacketReceiveBuffers(pid, bytes);
      } catch (error) {
        // Gone again (the supervisor starts another one) or not ours to touch.
        log.warn(
          { vswitchd: pid, err: String(error) },
          'cannot raise the port socket buffers of a new ovs-vswitchd',
        );
        return;
      }
      if (this.abort.signal.aborted) return;
      if (raised >= ports || Date.now() >= deadline) break;
      await sleep(this.options.intervalMs ?? 100, undefined, { ref: false });
    }
    const fields = { vswitchd: pid, previous, raised, ports, bytes };
    if (raised >= ports)
      log.info(fields, 'ovs-vswitchd restarted: raised its port socket buffers again');
    else log.warn(fields, 'ovs-vswitchd restarted: not every port socket was raised in time');
  }
}
