// pnpm's `beforePacking` hook: the package.json each tarball of `make pack`
// carries. scripts/pack.mjs hands this file to `pnpm pack` only (as
// npm_config_pnpmfile), so installs in the workspace never read it.
//
// - One version: the root package.json's, stamped on every package and on
//   every @arca-net/* dependency (pnpm has already turned `workspace:*` into
//   the dependency's own version; the stamp keeps the set consistent).
// - Installable: no `private`, no devDependencies, no workspace scripts. The
//   addon's package gets the install script that builds it from its sources
//   with node-gyp when no shipped prebuilt loads (node-gyp-build); in the
//   workspace that script stays a no-op and `make build` builds the addon.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const root = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));

/** The manifest of one packed package. */
function beforePacking(pkg) {
  pkg.version = root.version;
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (name.startsWith('@arca-net/')) pkg.dependencies[name] = root.version;
  }
  delete pkg.private;
  delete pkg.devDependencies;
  delete pkg.scripts;
  if (pkg.name === '@arca-net/vsock') pkg.scripts = { install: 'node-gyp-build' };
  pkg.engines = root.engines;
  return pkg;
}

module.exports = { hooks: { beforePacking } };
