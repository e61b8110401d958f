// The container side of one attachment, as the host + forwarder would provide it:
// a TAP `NAME` with the attachment's MAC in this process's network namespace,
// relayed to a stream dialled to the helper relay's port (unixdir).
// Usage: node container-side.mjs DIR PORT MAC NAME. Prints "ready" once relaying.
import { dialStream, Relay, TapDevice } from '../../packages/vsock/dist/index.js';

const [dir, port, mac, name] = process.argv.slice(2);
const tap = TapDevice.create(name, { mac, mtu: 1500 });
const sock = await dialStream({ kind: 'unixdir', dir }, Number(port), { timeoutMs: 10_000 });
const relay = Relay.open({ kind: 'tap', fd: tap.dupFd() }, { kind: 'stream', fd: sock.detachFd() });
relay.on('close', (info) => process.stderr.write(`relay closed ${JSON.stringify(info)}\n`));
process.on('SIGTERM', () => {
  relay.close();
  tap.close();
  process.exit(0);
});
process.stdout.write('ready\n');
