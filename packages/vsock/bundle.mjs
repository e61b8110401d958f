// Bundles a program that uses @arca-net/vsock into one ESM file for a VM
// image (vminit/build.mjs: the forwarder, helpervm/build.mjs: the controller),
// after `tsc -b` and the addon build.
//
// Two workspace modules load a file relative to themselves, which a bundle
// moves: the addon (lib/native.ts loads it with node-gyp-build from the package directory) and
// the descriptor set that gRPC reflection serves (@arca-net/proto loads
// ../src/gen/arca-net.binpb). The bundle loads both from beside itself (the
// addon also from ARCA_NET_VSOCK_ADDON when set), and both are copied there.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const workspaceFile = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/** Files that travel beside the bundle: which module loads them, and how it must load them now. */
const BESIDE_BUNDLE = [
  {
    module: /packages[\\/]vsock[\\/]dist[\\/]native\.js$/,
    load: /require\((['"])node-gyp-build\1\)\(\s*fileURLToPath\(new URL\((['"])\.\.\2, import\.meta\.url\)\),?\s*\)/,
    replacement: "require(process.env.ARCA_NET_VSOCK_ADDON || './arca_vsock.node')",
    file: workspaceFile('vsock/build/Release/arca_vsock.node'),
    missing: "run 'pnpm -r run build:native' first",
  },
  {
    module: /packages[\\/]proto[\\/]dist[\\/]index\.js$/,
    load: /new URL\((['"])\.\.\/src\/gen\/arca-net\.binpb\1, import\.meta\.url\)/,
    replacement: "new URL('./arca-net.binpb', import.meta.url)",
    file: workspaceFile('proto/src/gen/arca-net.binpb'),
    missing: "run 'make proto' first",
  },
];

/**
 * Writes `outfile` (the bundle of `entry`) and, beside it, every file of
 * BESIDE_BUNDLE that the bundle needs. Throws with a message saying what to
 * build first when an input is missing. Returns a one-line summary with sizes.
 */
export async function bundleWithAddon({ entry, outfile }) {
  if (!existsSync(entry)) throw new Error(`${entry} is missing; run 'pnpm exec tsc -b' first`);
  const needed = new Set();
  const besideBundle = {
    name: 'arca-net-files-beside-bundle',
    setup(build) {
      for (const item of BESIDE_BUNDLE) {
        build.onLoad({ filter: item.module }, async (args) => {
          const source = readFileSync(args.path, 'utf8');
          if (!item.load.test(source)) {
            throw new Error(`${args.path} no longer loads ${basename(item.file)} as expected`);
          }
          if (!existsSync(item.file)) throw new Error(`${item.file} is missing; ${item.missing}`);
          needed.add(item);
          return { contents: source.replace(item.load, item.replacement), loader: 'js' };
        });
      }
    },
  };
  mkdirSync(dirname(outfile), { recursive: true });
  await esbuild.build({
    plugins: [besideBundle],
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'linked',
    // CommonJS dependencies (grpc-js, dns-packet, pino) call require() for Node built-ins.
    banner: {
      js: "import { createRequire as __arcaCreateRequire } from 'node:module'; globalThis.require ??= __arcaCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  const size = (file) => `${basename(file)} (${(statSync(file).size / 1024).toFixed(0)} KiB)`;
  const written = [outfile];
  for (const item of needed) {
    const copy = join(dirname(outfile), basename(item.file));
    copyFileSync(item.file, copy);
    written.push(copy);
  }
  return `${dirname(outfile)}: ${written.map(size).join(', ')}`;
}
