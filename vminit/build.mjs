// Bundles the forwarder into one file, vminit/dist/forwarder.mjs, with the
// @arca-net/vsock addon beside it (arca_vsock.node). Run after `tsc -b` and the
// addon build: `node vminit/build.mjs` (or `make vminit`).
import { fileURLToPath } from 'node:url';
import { bundleWithAddon } from '../packages/vsock/bundle.mjs';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));
try {
  const summary = await bundleWithAddon({
    entry: path('../packages/forwarder/dist/main.js'),
    outfile: path('./dist/forwarder.mjs'),
  });
  console.log(`vminit: ${summary}`);
} catch (error) {
  console.error(`vminit: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
