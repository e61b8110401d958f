/**
 * `make pack`'s tarballs, installed as a runtime's daemon would take them:
 * plain npm, an empty project outside the workspace, `overrides` so the
 * @arca-net packages come from the tarballs (third-party dependencies from the
 * npm registry). The installed `@arca-net/host` opens `OvsNetworkBackend`
 * against a FAKE helper (NetworkControl on a Unix socket, started here) and
 * creates a network; the installed `@arca-net/vsock` loads its prebuilt addon,
 * then builds it from the tarball's sources as it does where no prebuilt fits.
 */
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeHelper } from '../../packages/host/test/fake-vms.js';
import { runCommand } from '../../packages/lab/dist/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const packDir = join(root, 'dist', 'pack');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
};
/** The tarballs `make pack` writes, by directory under packages/. */
const PACKED = [
  'host',
  'vsock',
  'proto',
  'log',
  'forwarder',
  'controller',
  'lab',
  'netaddr',
  'rpc',
  'dns',
];
/** The prebuilt's directory: this machine's, where `make pack` ran (linux-x64 here). */
const platformArch = `${process.platform}-${process.arch}`;
const tarball = (name: string) => join(packDir, `arca-net-${name}-${version}.tgz`);

let project: string;
let helperDir: string;
let helper: FakeHelper;
const calls: string[] = [];

/** Plain npm in the project: none of pnpm's npm_* variables from the test runner. */
function npm(args: string[], extra: NodeJS.ProcessEnv = {}) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_)/i.test(key)),
  );
  return runCommand(['npm', ...args], {
    env: { ...env, npm_config_update_notifier: 'false', ...extra },
    timeoutMs: 120_000,
  });
}

function installed(name: string): { version: string; dependencies?: Record<string, string> } {
  const file = join(project, 'node_modules', '@arca-net', name, 'package.json');
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function embed(): Promise<{
  network: { Name: string; Id: string; Driver: string; IPAM: { Config: { Subnet: string }[] } };
  listed: string[];
  echoed: string;
  addonFile: string;
}> {
  const { stdout } = await runCommand([process.execPath, join(project, 'embed.mjs'), helperDir], {
    timeoutMs: 30_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '');
}

beforeAll(async () => {
  await runCommand([process.execPath, join(root, 'scripts/pack.mjs')], { timeoutMs: 60_000 });
  project = mkdtempSync(join(tmpdir(), 'arca-pack-install-'));
  // better-sqlite3's own install script downloads its prebuilt from GitHub or
  // compiles SQLite (minutes); the project takes the workspace's version and,
  // below, the binary the workspace already built for it.
  const hostRequire = createRequire(join(root, 'packages/host/package.json'));
  const sqliteDir = dirname(hostRequire.resolve('better-sqlite3/package.json'));
  const sqliteVersion = (
    JSON.parse(readFileSync(join(sqliteDir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const specs = Object.fromEntries(PACKED.map((n) => [`@arca-net/${n}`, `file:${tarball(n)}`]));
  const manifest = {
    name: 'embedding-check',
    private: true,
    type: 'module',
    dependencies: specs,
    overrides: { ...specs, 'better-sqlite3': sqliteVersion },
    allowScripts: { '@arca-net/vsock': true, 'better-sqlite3': true },
  };
  writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  copyFileSync(join(root, 'test/pack/embed.mjs'), join(project, 'embed.mjs'));

  await npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', project]);
  const release = join(project, 'node_modules/better-sqlite3/build/Release');
  mkdirSync(release, { recursive: true });
  copyFileSync(
    join(sqliteDir, 'build/Release/better_sqlite3.node'),
    join(release, 'better_sqlite3.node'),
  );
  // @arca-net/vsock's install script (node-gyp-build): the prebuilt loads, nothing compiles.
  await npm(['rebuild', '@arca-net/vsock', '--prefix', project]);

  helperDir = mkdtempSync(join(tmpdir(), 'arca-pack-helper-'));
  helper = new FakeHelper(helperDir, calls);
  await helper.start();
}, 150_000);

afterAll(async () => {
  await helper?.stop();
  if (helperDir) rmSync(helperDir, { recursive: true, force: true });
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('make pack tarballs installed with plain npm outside the workspace', () => {
  it('writes one tarball per package, all of the root version, with the addon sources and a prebuilt', async () => {
    expect(readdirSync(packDir).sort()).toEqual(
      PACKED.map((n) => `arca-net-${n}-${version}.tgz`).sort(),
    );
    const { stdout } = await runCommand(['tar', '-tzf', tarball('vsock')]);
    const files = stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/binding.gyp',
        'package/src/addon.cc',
        'package/src/relay.h',
        'package/dist/index.js',
        `package/prebuilds/${platformArch}/node.napi.glibc.node`,
      ]),
    );
    expect(files.filter((f) => f.startsWith('package/build/'))).toEqual([]);
  });

  it('installs every package at the root version, @arca-net dependencies pinned to it', () => {
    for (const name of PACKED) {
      const manifest = installed(name);
      expect(manifest.version, name).toBe(version);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (dep.startsWith('@arca-net/')) expect(range, `${name} -> ${dep}`).toBe(version);
      }
    }
  });

  it('imports every installed package', async () => {
    const script = join(project, 'imports.mjs');
    writeFileSync(
      script,
      `const out = {};
for (const name of ${JSON.stringify(PACKED)}) out[name] = Object.keys(await import('@arca-net/' + name));
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await runCommand([process.execPath, script], { timeoutMs: 30_000 });
    const exports = JSON.parse(stdout) as Record<string, string[]>;
    expect(exports.host).toContain('OvsNetworkBackend');
    expect(exports.vsock).toContain('TapLink');
    expect(exports.proto).toContain('descriptorSetPath');
    expect(exports.controller?.length, 'controller').toBeGreaterThan(0);
    expect(exports.forwarder?.length, 'forwarder').toBeGreaterThan(0);
    expect(exports.lab?.length, 'lab').toBeGreaterThan(0);
    expect(exports.rpc?.length, 'rpc').toBeGreaterThan(0);
  });

  it('opens OvsNetworkBackend against a helper and creates a network; the prebuilt addon relays bytes', async () => {
    const out = await embed();
    expect(out.network.Name).toBe('embedded');
    expect(out.network.Driver).toBe('bridge');
    expect(out.network.IPAM.Config[0]?.Subnet).toBe('10.77.0.0/24');
    expect(out.listed).toEqual(['embedded']);
    expect(calls).toContain('helper.CreateBridge embedded');
    expect([...helper.bridges.keys()]).toEqual([out.network.Id]);
    expect(out.echoed).toBe('ping');
    expect(out.addonFile).toBe(
      join(project, `node_modules/@arca-net/vsock/prebuilds/${platformArch}/node.napi.glibc.node`),
    );
  });

  it('builds the addon from the tarball sources with node-gyp where no prebuilt is used', async () => {
    // What the install script does on a platform without a prebuilt (e.g. linux-arm64);
    // the headers come from the running Node, as `make build` takes them.
    await npm(['rebuild', '@arca-net/vsock', '--prefix', project], {
      npm_config_build_from_source: 'true',
      npm_config_nodedir: dirname(dirname(process.execPath)),
    });
    const out = await embed();
    expect(out.addonFile).toBe(
      join(project, 'node_modules/@arca-net/vsock/build/Release/arca_vsock.node'),
    );
    expect(out.echoed).toBe('ping');
    expect(out.listed).toEqual(['embedded']);
  });
});
