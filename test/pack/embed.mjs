// What a runtime's daemon does first with the installed tarballs (docs/embedding.md):
// open the backend against the helper VM, create a network, close. Also uses the
// vsock addon directly. Copied into an npm project outside the workspace by
// install.test.ts; prints one JSON line.
//   node embed.mjs <unixdir of the helper VM's ports>
import { readSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OvsNetworkBackend } from '@arca-net/host';
import { socketPair } from '@arca-net/vsock';

const [helperDir] = process.argv.slice(2);
const backend = await OvsNetworkBackend.open({
  stateFile: ':memory:',
  helper: { kind: 'unixdir', dir: helperDir },
  helperWatchMs: 0,
});
const network = await backend.createNetwork({ name: 'embedded', subnet: '10.77.0.0/24' });
const listed = (await backend.listNetworks()).map((n) => n.Name);
await backend.close();

// The addon: a socketpair carries one message.
const [a, b] = socketPair();
writeSync(a, 'ping');
const echoed = Buffer.alloc(4);
const length = readSync(b, echoed);

// Which binary node-gyp-build loaded for @arca-net/vsock (its prebuilt, or its own build).
const vsockDir = join(dirname(createRequire(import.meta.url).resolve('@arca-net/vsock')), '..');
const addonFile = createRequire(join(vsockDir, 'package.json'))('node-gyp-build').path(vsockDir);
console.log(
  JSON.stringify({ network, listed, echoed: echoed.subarray(0, length).toString(), addonFile }),
);
