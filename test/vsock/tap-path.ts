/**
 * Needs root. Two network namespaces `<id>na` and `<id>nb`, each with a TAP
 * (`<id>ta`, `<id>tb`) created by the addon, joined by the path TAP↔stream ⇄
 * stream↔stream ⇄ stream↔TAP (the container → host → helper shape), on
 * 198.51.100.0/24 (documentation range). Shared by the TAP suites that need
 * a real path between namespaces.
 */
import type { ChildProcess } from 'node:child_process';
import {
  type IperfResult,
  NetworkNamespace,
  runCommand,
  runIperfClient,
  startIperfServer,
} from '../../packages/lab/dist/index.js';
import { type FrameRelay, Relay, socketPair, TapDevice } from '../../packages/vsock/dist/index.js';

export class TapPath {
  readonly ipA = '198.51.100.1';
  readonly ipB = '198.51.100.2';
  readonly taps: TapDevice[] = [];
  readonly relays: FrameRelay[] = [];
  /** Processes a test started on the path; killed by {@link close}. */
  readonly children: ChildProcess[] = [];
  nsA!: NetworkNamespace;
  nsB!: NetworkNamespace;

  /**
   * `id`: a prefix unique per process; `macPrefix`: the first five bytes of the
   * TAPs' MACs; `offload`: TAPs with IFF_VNET_HDR and TSO, relays with offload framing.
   */
  constructor(
    readonly id: string,
    private readonly options: { macPrefix: string; offload: boolean },
  ) {}

  async open(): Promise<void> {
    this.nsA = await NetworkNamespace.create(`${this.id}na`);
    this.nsB = await NetworkNamespace.create(`${this.id}nb`);
    const tapA = await this.tapInto(`${this.id}ta`, '01', this.nsA, this.ipA);
    const tapB = await this.tapInto(`${this.id}tb`, '02', this.nsB, this.ipB);
    const framing = this.options.offload ? { framing: 'offload' as const } : undefined;
    const [s1a, s1b] = socketPair(); // container ⇄ host
    const [s2a, s2b] = socketPair(); // host ⇄ helper
    this.relays.push(
      Relay.open({ kind: 'tap', fd: tapA.dupFd() }, { kind: 'stream', fd: s1a }, framing),
    );
    this.relays.push(Relay.open({ kind: 'stream', fd: s1b }, { kind: 'stream', fd: s2a }, framing));
    this.relays.push(
      Relay.open({ kind: 'stream', fd: s2b }, { kind: 'tap', fd: tapB.dupFd() }, framing),
    );
  }

  /** The output of `ping -c 3` from namespace A to B's address. */
  async pingAtoB(): Promise<string> {
    const args = ['ping', '-c', '3', '-W', '5', this.ipB];
    return (await this.nsA.run(args, { timeoutMs: 30_000 })).stdout;
  }

  /** An iperf3 TCP run of `seconds` from A to a one-shot server on B (a port unique per process). */
  async iperfAtoB(seconds: number): Promise<IperfResult> {
    const port = 20000 + (process.pid % 20000);
    this.children.push(await startIperfServer(this.nsB.name, port, { bind: this.ipB, once: true }));
    return runIperfClient(this.nsA.name, this.ipB, port, { seconds });
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    const closing = this.relays.map((r) => r.whenClosed());
    for (const relay of this.relays) relay.close();
    await Promise.all(closing);
    for (const tap of this.taps) tap.close();
    for (const ns of [this.nsA, this.nsB]) await ns?.delete();
  }

  private async tapInto(
    tapName: string,
    macSuffix: string,
    netns: NetworkNamespace,
    addr: string,
  ): Promise<TapDevice> {
    const tap = TapDevice.create(tapName, {
      mac: `${this.options.macPrefix}:${macSuffix}`,
      up: false,
      ...(this.options.offload ? { offload: true } : {}),
    });
    this.taps.push(tap);
    // The TAP fd keeps working after the device moves to another namespace.
    await runCommand(['ip', 'link', 'set', tapName, 'netns', netns.name]);
    await netns.ip(['addr', 'add', `${addr}/24`, 'dev', tapName]);
    await netns.ip(['link', 'set', tapName, 'up']);
    return tap;
  }
}
