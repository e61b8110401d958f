import { spawn } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, tryCommand } from '../../packages/lab/dist/index.js';

/**
 * The QEMU guest of the AF_VSOCK test: a Debian cloud kernel and a cached
 * busybox + node initramfs (`build-guest.sh`), plus a per-run cpio archive
 * holding the files a run needs at their host paths (addon, JS, dependencies),
 * which the kernel unpacks on top of the base archive.
 */

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root, with symlinks resolved (the guest mirrors host paths). */
export const repoRoot = realpathSync(resolve(here, '../..'));

/** The line prefix the guest script prints its results with. */
export const RESULT_PREFIX = 'ARCA-VSOCK-RESULT ';

export interface GuestImage {
  kernel: string;
  baseInitrd: string;
}

/** Error from building the guest image; its message is build-guest.sh's own. */
export class GuestBuildError extends Error {}

/** Builds (or finds cached) the kernel and base initramfs. */
export async function buildGuestImage(cacheDir?: string): Promise<GuestImage> {
  const script = join(here, 'build-guest.sh');
  const { code, stdout, stderr } = await tryCommand([script, ...(cacheDir ? [cacheDir] : [])], {
    timeoutMs: 600_000,
  });
  if (code !== 0) {
    const lines = stderr.trim().split('\n');
    const reason = lines.filter((l) => l.startsWith('build-guest:')).pop() ?? lines.at(-1);
    throw new GuestBuildError(
      `could not build the QEMU guest (exit ${code}): ${reason}\n${lines.slice(-15).join('\n')}`,
    );
  }
  const field = (name: string): string => {
    const line = stdout.split('\n').find((l) => l.startsWith(`${name}=`));
    if (!line) throw new GuestBuildError(`build-guest.sh printed no ${name}= line:\n${stdout}`);
    return line.slice(name.length + 1);
  };
  return { kernel: field('GUEST_KERNEL'), baseInitrd: field('GUEST_INITRD') };
}

// --- the per-run cpio (newc) archive ----------------------------------------------

type CpioEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; data: Buffer; mode: number }
  | { kind: 'symlink'; path: string; target: string };

/** A set of guest files; parent directories are added as needed. */
export class GuestFiles {
  private readonly entries = new Map<string, CpioEntry>();

  /** Adds a host file at the same path in the guest (or at `guestPath`). */
  addFile(hostPath: string, guestPath = hostPath): void {
    const st = lstatSync(hostPath);
    if (st.isSymbolicLink()) {
      this.addSymlink(guestPath, readlinkSync(hostPath));
      return;
    }
    this.addData(guestPath, readFileSync(hostPath), st.mode & 0o777);
  }

  addData(guestPath: string, data: Buffer | string, mode = 0o644): void {
    this.addDirs(dirname(guestPath));
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.entries.set(guestPath, { kind: 'file', path: guestPath, data: buf, mode });
  }

  addSymlink(guestPath: string, target: string): void {
    this.addDirs(dirname(guestPath));
    this.entries.set(guestPath, { kind: 'symlink', path: guestPath, target });
  }

  /** Adds a host directory tree (files and symlinks, verbatim), skipping names in `skip`. */
  addTree(hostDir: string, skip: ReadonlySet<string> = new Set()): void {
    for (const entry of readdirSync(hostDir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue;
      const path = join(hostDir, entry.name);
      if (entry.isDirectory()) this.addTree(path, skip);
      else if (entry.isFile() || entry.isSymbolicLink()) this.addFile(path);
    }
  }

  has(guestPath: string): boolean {
    return this.entries.has(guestPath);
  }

  private addDirs(dir: string): void {
    if (dir === '/' || this.entries.has(dir)) return;
    this.addDirs(dirname(dir));
    this.entries.set(dir, { kind: 'dir', path: dir });
  }

  /** The newc archive (what the kernel's initramfs unpacker reads), parents before children. */
  toCpio(): Buffer {
    const parts: Buffer[] = [];
    let ino = 300_000;
    const push = (name: string, mode: number, data: Buffer): void => {
      const nameBuf = Buffer.from(`${name}\0`);
      const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBuf.length, 0];
      const header = `070701${fields.map((f) => f.toString(16).padStart(8, '0')).join('')}`;
      parts.push(Buffer.from(header), nameBuf, pad(110 + nameBuf.length));
      parts.push(data, pad(data.length));
    };
    const sorted = [...this.entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const e of sorted) {
      const name = e.path.replace(/^\/+/, '');
      if (e.kind === 'dir') push(name, 0o040755, Buffer.alloc(0));
      else if (e.kind === 'file') push(name, 0o100000 | e.mode, e.data);
      else push(name, 0o120777, Buffer.from(e.target));
    }
    push('TRAILER!!!', 0, Buffer.alloc(0));
    return Buffer.concat(parts);
  }
}

function pad(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

/** Adds the shared libraries `ldd` lists for `binary` (for an addon: those node lacks are harmless duplicates). */
export async function addSharedLibraries(files: GuestFiles, binary: string): Promise<void> {
  const { stdout } = await runCommand(['ldd', binary], { timeoutMs: 10_000 });
  for (const match of stdout.matchAll(/(\/\S+) \(0x/g)) {
    const lib = match[1]!;
    if (!files.has(lib)) files.addData(lib, readFileSync(lib), 0o755);
  }
}

/**
 * Adds a workspace package (package.json, dist/, build/Release/*.node) and the
 * runtime dependency closure, following Node's resolution from each package's
 * real path: the `node_modules/<name>` symlinks met on the way and the real
 * package directories (pnpm layout), so imports resolve in the guest as on the host.
 */
export function addPackageWithDependencies(files: GuestFiles, packageDir: string): void {
  const seen = new Set<string>();
  const visit = (dir: string): void => {
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    if (dir.split('/').includes('node_modules')) {
      files.addTree(dir, new Set(['node_modules']));
    } else {
      files.addFile(join(dir, 'package.json'));
      if (existsSync(join(dir, 'dist'))) files.addTree(join(dir, 'dist'));
      const release = join(dir, 'build', 'Release');
      if (existsSync(release)) {
        for (const name of readdirSync(release)) {
          if (name.endsWith('.node')) files.addFile(join(release, name));
        }
      }
    }
    const names = [
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
    ];
    for (const name of names) {
      const found = findDependency(dir, name);
      if (!found) {
        if (manifest.optionalDependencies?.[name]) continue;
        throw new Error(`cannot resolve dependency ${name} of ${dir}`);
      }
      if (found.link !== found.real) files.addSymlink(found.link, readlinkSync(found.link));
      visit(found.real);
    }
  };
  visit(realpathSync(packageDir));
}

function findDependency(fromDir: string, name: string): { link: string; real: string } | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const link = join(dir, 'node_modules', name);
    if (existsSync(join(link, 'package.json'))) {
      const st = lstatSync(link);
      return { link, real: st.isSymbolicLink() ? realpathSync(link) : link };
    }
    if (dir === '/') return null;
  }
}

// --- running the guest -------------------------------------------------------------------

export interface GuestRun {
  /** Everything the guest printed on its serial console. */
  console: string;
  /** The parsed `ARCA-VSOCK-RESULT {json}` lines, by their `check` field. */
  results: Map<string, GuestResult>;
  exitCode: number | null;
  timedOut: boolean;
  /** Seconds of guest uptime at which /init started, and at which the test script ended. */
  bootUptime?: number;
  exitUptime?: number;
}

export interface GuestResult {
  check: string;
  ok: boolean;
  error?: string;
  [key: string]: unknown;
}

export interface RunGuestOptions {
  image: GuestImage;
  files: GuestFiles;
  /** Kills QEMU after this long (default 150 s). */
  timeoutMs?: number;
  memoryMiB?: number;
  /** Extra QEMU arguments (e.g. a `-netdev stream` NIC). */
  qemuArgs?: string[];
}

/** Boots the guest with `files` appended to the base initramfs and collects its console output. */
export async function runGuest(options: RunGuestOptions): Promise<GuestRun> {
  const work = mkdtempSync(join(tmpdir(), 'arca-vsock-qemu-'));
  try {
    const initrd = join(work, 'initrd.cpio');
    copyFileSync(options.image.baseInitrd, initrd);
    appendFileSync(initrd, options.files.toCpio());
    // TCG by default: a KVM guest hangs on this project's build machine.
    const accel = process.env.ARCA_QEMU_ACCEL ?? 'tcg';
    const memory = String(options.memoryMiB ?? 1024);
    const args = [
      ...['-accel', accel, '-cpu', 'max', '-smp', '2', '-m', memory],
      ...['-nodefaults', '-display', 'none', '-no-reboot', '-monitor', 'none', '-serial', 'stdio'],
      ...['-kernel', options.image.kernel, '-initrd', initrd],
      ...['-append', 'console=ttyS0 quiet loglevel=3 panic=-1'],
      ...(options.qemuArgs ?? []),
    ];
    return await new Promise<GuestRun>((resolvePromise, reject) => {
      const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let timedOut = false;
      qemu.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      qemu.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      const timer = setTimeout(() => {
        timedOut = true;
        qemu.kill('SIGKILL');
      }, options.timeoutMs ?? 150_000);
      qemu.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      qemu.on('close', (code) => {
        clearTimeout(timer);
        resolvePromise(parseConsole(out.replace(/\r\n/g, '\n'), code, timedOut));
      });
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function parseConsole(text: string, exitCode: number | null, timedOut: boolean): GuestRun {
  const results = new Map<string, GuestResult>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(RESULT_PREFIX);
    if (at < 0) continue;
    try {
      const result = JSON.parse(line.slice(at + RESULT_PREFIX.length)) as GuestResult;
      results.set(result.check, result);
    } catch {
      // A line cut by a kernel message: the check then counts as missing.
    }
  }
  const uptime = (marker: string): number | undefined => {
    const m = new RegExp(`ARCA-GUEST ${marker}.*?uptime=([0-9.]+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    console: text,
    results,
    exitCode,
    timedOut,
    bootUptime: uptime('boot'),
    exitUptime: uptime('exit'),
  };
}
