/**
 * What the lab needs of this machine: root, the OVS/OVN and iproute2
 * binaries, and the built programs. A lack is LAB_UNAVAILABLE, in one line
 * that says how to fix it.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { errors } from '@arca-net/host';
import { missingPrograms } from './programs.js';

/** Binaries the lab runs, each with the Debian package that has it. */
const REQUIRED_BINARIES: readonly [string, string][] = [
  ['ip', 'iproute2'],
  ['ovsdb-server', 'openvswitch-switch'],
  ['ovs-vswitchd', 'openvswitch-switch'],
  ['ovs-vsctl', 'openvswitch-switch'],
  ['ovsdb-tool', 'openvswitch-switch'],
  ['ovn-northd', 'ovn-central'],
  ['ovn-nbctl', 'ovn-central'],
  ['ovn-controller', 'ovn-host'],
  ['ethtool', 'ethtool'],
];

/** Where `lab up` looks for binaries: PATH plus the sbin directories root's PATH may lack. */
function defaultSearchPath(): string[] {
  return [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
}

async function onPath(binary: string, dirs: readonly string[]): Promise<boolean> {
  for (const dir of dirs) {
    try {
      await access(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/** What {@link checkPrerequisites} checks against (tests pass their own). */
export interface PrerequisiteOptions {
  uid?: number;
  searchPath?: readonly string[];
}

/** Throws LAB_UNAVAILABLE, in one line, when the lab cannot run on this machine. */
export async function checkPrerequisites(options: PrerequisiteOptions = {}): Promise<void> {
  if ((options.uid ?? process.getuid?.()) !== 0) {
    throw errors.labUnavailable(
      'the lab needs root (network namespaces, TAP devices, Open vSwitch): run it with sudo',
    );
  }
  const missing: [string, string][] = [];
  const dirs = options.searchPath ?? defaultSearchPath();
  for (const entry of REQUIRED_BINARIES) if (!(await onPath(entry[0], dirs))) missing.push(entry);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw errors.labUnavailable(
      `missing ${missing.map(([bin]) => bin).join(', ')}: install with 'apt-get install ${packages}' (or run 'make setup')`,
    );
  }
  const programs = await missingPrograms();
  if (programs.length > 0) {
    throw errors.labUnavailable(`not built: ${programs.join(', ')}: run 'make build'`);
  }
}
