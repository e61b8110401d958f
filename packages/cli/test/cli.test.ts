import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { parseLabel } from '../src/commands/network.js';
import { ExitCode } from '../src/errors.js';
import { capturedIo } from './captured-io.js';

const env = { ARCA_NET_LAB_DIR: '/nonexistent/arca-net-cli-unit' };

describe('arca-net command line', () => {
  it('prints help and exits 0 for --help', async () => {
    const io = capturedIo();
    expect(await runCli(['--help'], io, env)).toBe(ExitCode.ok);
    expect(io.stdout).toContain('network create');
    expect(io.stdout).toContain('Exit codes');
  });

  it('exits 2 with one line for an unknown command', async () => {
    const io = capturedIo();
    expect(await runCli(['netwrok', 'ls'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toContain("unknown command 'netwrok'");
  });

  it('names the subcommands of a known group when the subcommand is unknown', async () => {
    const io = capturedIo();
    expect(await runCli(['network', 'frobnicate'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr).toContain('create, ls, prune, inspect, rm, connect, disconnect');
  });

  it('exits 2 for an unknown flag, in one line', async () => {
    const io = capturedIo();
    expect(await runCli(['network', 'create', '--bogus', 'x'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toContain("'--bogus'");
  });

  it('exits 2 when an argument is missing', async () => {
    const io = capturedIo();
    expect(await runCli(['network', 'connect', 'front'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr).toContain('requires exactly 2 arguments');
  });

  it('exits 2 for an unknown --host-relay engine, naming the engines', async () => {
    const io = capturedIo();
    expect(await runCli(['lab', 'up', '--host-relay', 'turbo'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr.trim().split('\n')).toHaveLength(1);
    expect(io.stderr).toContain('native, ts, polling');
  });

  it('exits 2 for lab exec without a command', async () => {
    const io = capturedIo();
    expect(await runCli(['lab', 'exec', 'web'], io, env)).toBe(ExitCode.usage);
    expect(io.stderr).toContain('no command given');
  });

  it('exits 3 and says how to start the lab when no lab host answers', async () => {
    const io = capturedIo();
    expect(await runCli(['network', 'ls'], io, env)).toBe(ExitCode.unavailable);
    expect(io.stderr.trim()).toBe(
      "arca-net: the lab is not running (no lab host answers): start it with 'arca-net lab up'",
    );
  });

  it('takes the options of every command before the command too', async () => {
    const io = capturedIo();
    const dir = '/nonexistent/arca-net-lab';
    expect(await runCli(['--lab-dir', dir, '-q', 'network', 'ls'], io, env)).toBe(
      ExitCode.unavailable,
    );
    expect(io.stderr).toContain('the lab is not running');
  });

  it('prints per-command help', async () => {
    const io = capturedIo();
    expect(await runCli(['network', 'create', '--help'], io, env)).toBe(ExitCode.ok);
    expect(io.stdout).toContain(
      'Usage: arca-net network create [-d bridge] [-o K=V]... [--subnet CIDR]',
    );
  });
});

describe('labels', () => {
  it('splits at the first = and allows a bare key', () => {
    expect(parseLabel('a=b=c')).toEqual(['a', 'b=c']);
    expect(parseLabel('tier')).toEqual(['tier', '']);
    expect(() => parseLabel('=x')).toThrow(/key must not be empty/);
  });
});
