import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The machine a run measured, recorded with every result. */
export interface MachineInfo {
  kernel: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  ovs: string;
  ovn: string;
}

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000 }).split('\n')[0] ?? '';
  } catch {
    return 'not installed';
  }
}

/** Reads kernel, CPU model, cores, memory and tool versions. */
export function machineInfo(): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    kernel: os.release(),
    cpu: model.trim(),
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    ovs: firstLine('ovs-vswitchd', ['--version']),
    ovn: firstLine('ovn-northd', ['--version']),
  };
}
