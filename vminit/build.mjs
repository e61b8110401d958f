// Bundles the forwarder into one file, vminit/dist/forwarder.mjs, and copies
// the @arca-net/vsock addon beside it (arca_vsock.node). Run after `tsc -b` and the
// addon build: `node vminit/build.mjs` (or `make vminit`).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const forwarderDir = join(root, 'packages/forwarder');
const requireFromForwarder = createRequire(join(forwarderDir, 'package.json'));
const esbuild = requireFromForwarder('esbuild');
const outDir = join(root, 'vminit/dist');
const entry = join(forwarderDir, 'dist/main.js');

if (!existsSync(entry)) {
  console.error(`vminit: ${entry} is missing; run 'pnpm exec tsc -b' first`);
  process.exit(1);
}
const addon = join(root, 'packages/vsock/build/Release/arca_vsock.node');
if (!existsSync(addon)) {
  console.error(`vminit: ${addon} is missing; run 'pnpm -r run build:native' first`);
  process.exit(1);
}

// packages/vsock/lib/native.ts loads `../build/Release/arca_vsock.node` relative to itself;
// in the bundle the addon sits beside forwarder.mjs, or where ARCA_NET_VSOCK_ADDON points.
const ADDON_REQUIRE = /require\((['"])\.\.\/build\/Release\/arca_vsock\.node\1\)/;
const addonBesideBundle = {
  name: 'arca-net-addon-beside-bundle',
  setup(build) {
    build.onLoad({ filter: /packages[\\/]vsock[\\/]dist[\\/]native\.js$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!ADDON_REQUIRE.test(source)) {
        throw new Error(`vminit: ${args.path} no longer loads ../build/Release/arca_vsock.node`);
      }
      return {
        contents: source.replace(
          ADDON_REQUIRE,
          "require(process.env.ARCA_NET_VSOCK_ADDON || './arca_vsock.node')",
        ),
        loader: 'js',
      };
    });
  },
};

mkdirSync(outDir, { recursive: true });
await esbuild.build({
  plugins: [addonBesideBundle],
  entryPoints: [entry],
  outfile: join(outDir, 'forwarder.mjs'),
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
copyFileSync(addon, join(outDir, 'arca_vsock.node'));
const size = (file) => `${(statSync(join(outDir, file)).size / 1024).toFixed(0)} KiB`;
console.log(
  `vminit: ${join(outDir, 'forwarder.mjs')} (${size('forwarder.mjs')}) and arca_vsock.node (${size('arca_vsock.node')})`,
);
