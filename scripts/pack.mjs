#!/usr/bin/env node
// `make pack`: npm tarballs of the packages a runtime's daemon or a VM image
// embeds, in dist/pack/, installable with plain npm outside this workspace
// (docs/embedding.md). Run after `make build` (TypeScript and the addon).
//
// The packages are packed by `pnpm -r pack` (which turns `workspace:*` into real
// versions) with scripts/pack-manifest.cjs as its beforePacking hook (one
// version, the root package.json's; no workspace-only fields). The addon's
// package ships its sources (node-gyp builds them on install when needed) and
// the binary built here as prebuilds/<platform>-<arch>/, which node-gyp-build
// loads without compiling.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));
const out = join(repo, 'dist', 'pack');
const hook = join(repo, 'scripts', 'pack-manifest.cjs');

/** The packed packages (directories under packages/): the embeddable ones and what they depend on. */
const PACKED = [
  'netaddr',
  'log',
  'dns',
  'proto',
  'vsock',
  'rpc',
  'host',
  'forwarder',
  'controller',
  'lab',
];

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

function fail(message) {
  console.error(`make pack: ${message}`);
  process.exit(1);
}

/** dist/ files whose TypeScript source is gone (a module moved or deleted since the last clean build). */
function staleOutputs(name) {
  const dir = join(repo, 'packages', name);
  const rootDir = readJson(join(dir, 'tsconfig.json')).compilerOptions.rootDir;
  return readdirSync(join(dir, 'dist'), { recursive: true })
    .filter((file) => file.endsWith('.js'))
    .filter((file) => !existsSync(join(dir, rootDir, file.replace(/\.js$/, '.ts'))))
    .map((file) => `packages/${name}/dist/${file}`);
}

/** Where node-gyp-build looks for this machine's prebuilt, and its file name (napi, libc tags). */
function prebuildPath() {
  const glibc = Boolean(process.report.getReport().header.glibcVersionRuntime);
  const dir = join(repo, 'packages', 'vsock', 'prebuilds', `${process.platform}-${process.arch}`);
  return { dir, file: join(dir, `node.napi.${glibc ? 'glibc' : 'musl'}.node`) };
}

function main() {
  const { version } = readJson(join(repo, 'package.json'));
  const wrong = PACKED.map((name) => [name, readJson(join(repo, 'packages', name, 'package.json'))])
    .filter(([, manifest]) => manifest.version !== version)
    .map(([name, manifest]) => `packages/${name} has ${manifest.version}`);
  if (wrong.length > 0) {
    fail(`one version for every package, the root package.json's ${version}: ${wrong.join(', ')}`);
  }
  // Every @arca-net dependency of a packed package is packed too, or its install fails (E404).
  const unpacked = PACKED.flatMap((name) =>
    Object.keys(readJson(join(repo, 'packages', name, 'package.json')).dependencies ?? {})
      .filter((dep) => dep.startsWith('@arca-net/'))
      .filter((dep) => !PACKED.includes(dep.slice('@arca-net/'.length)))
      .map((dep) => `packages/${name} depends on ${dep}`),
  );
  if (unpacked.length > 0) fail(`add to PACKED in scripts/pack.mjs: ${unpacked.join(', ')}`);
  for (const name of PACKED) {
    if (!existsSync(join(repo, 'packages', name, 'dist', 'index.js'))) {
      fail(`packages/${name}/dist is missing; run 'make build' first`);
    }
  }
  // What a clean build would not write again must not ship: remove it, as `make clean build` would.
  const stale = PACKED.flatMap(staleOutputs);
  for (const file of stale) {
    for (const suffix of ['.js', '.js.map', '.d.ts', '.d.ts.map']) {
      rmSync(join(repo, file.replace(/\.js$/, suffix)), { force: true });
    }
  }
  if (stale.length > 0)
    console.log(`make pack: removed stale outputs (source gone): ${stale.join(', ')}`);
  const addon = join(repo, 'packages', 'vsock', 'build', 'Release', 'arca_vsock.node');
  if (!existsSync(addon)) fail(`${addon} is missing; run 'make build' first`);

  const prebuild = prebuildPath();
  rmSync(join(repo, 'packages', 'vsock', 'prebuilds'), { recursive: true, force: true });
  mkdirSync(prebuild.dir, { recursive: true });
  copyFileSync(addon, prebuild.file);

  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const filters = PACKED.flatMap((name) => ['--filter', `@arca-net/${name}`]);
  execFileSync('pnpm', ['-r', ...filters, 'pack', '--pack-destination', out], {
    cwd: repo,
    env: { ...process.env, npm_config_pnpmfile: hook },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  console.log(`make pack: ${PACKED.length} tarballs of version ${version} in ${out}`);
}

main();
