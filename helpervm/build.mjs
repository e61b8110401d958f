// Bundles the controller into one file, helpervm/dist/controller.mjs, with the
// @arca-net/vsock addon beside it (arca_vsock.node). Run after `tsc -b` and the
// addon build: `node helpervm/build.mjs` (or `make helpervm`).
import { fileURLToPath } from 'node:url';
import { bundleWithAddon } from '../packages/vsock/bundle.mjs';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));
try {
  const summary = await bundleWithAddon({
    entry: path('../packages/controller/dist/main.js'),
    outfile: path('./dist/controller.mjs'),
  });
  console.log(`helpervm: ${summary}`);
} catch (error) {
  console.error(`helpervm: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
