import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliOvnDriver } from '../src/ovn/driver.js';
import { classifyToolError, OvnError } from '../src/ovn/errors.js';
import { ToolError, type ToolFailure, type ToolRunner } from '../src/ovn/exec.js';

/** Real failures captured from the tools (see its `about`). */
const captured = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/ovn/tool-failures.json', import.meta.url), 'utf8'),
) as { failures: Record<string, Omit<ToolFailure, 'timedOut'>> };

function failure(name: string): ToolError {
  const f = captured.failures[name];
  if (!f) throw new Error(`no captured failure ${name}`);
  return new ToolError({ ...f, timedOut: false });
}

/** The database or daemon could not be reached. */
const UNAVAILABLE = [
  'nbctl-no-socket',
  'vsctl-no-socket',
  'sbctl-no-socket',
  'appctl-no-socket',
  'nbctl-connection-refused',
  'appctl-connection-refused',
  'nbctl-database-hangs',
  'vsctl-no-vswitchd',
  'sbctl-wait-until-timeout',
];
/** The tool ran and the database or daemon refused the command. */
const REFUSED = [
  'nbctl-switch-exists',
  'nbctl-switch-not-found',
  'nbctl-unknown-command',
  'nbctl-constraint-violation',
  'nbctl-transaction-error',
  'vsctl-no-bridge',
  'appctl-unknown-command',
];

/** A runner whose every call fails with `err`. */
function failingRunner(err: ToolError): ToolRunner {
  return async () => {
    throw err;
  };
}

const dbs = { nbDb: 'unix:/nb', sbDb: 'unix:/sb', ovsDb: 'unix:/ovs' };

describe('classification of tool failures', () => {
  it('every captured failure is expected to be one kind or the other', () => {
    expect([...UNAVAILABLE, ...REFUSED].sort()).toEqual(Object.keys(captured.failures).sort());
  });

  it.each(UNAVAILABLE)('%s: OVN unavailable', (name) => {
    expect(classifyToolError(failure(name))).toBe('unavailable');
  });

  it.each(REFUSED)('%s: OVN refused', (name) => {
    expect(classifyToolError(failure(name))).toBe('refused');
  });

  it('a tool killed by the process timeout, or one that cannot start, is unavailable', () => {
    const base = { tool: 'ovn-nbctl', args: ['list', 'ACL'], stderr: '' } as const;
    expect(
      classifyToolError(
        new ToolError({ ...base, exitCode: null, signal: 'SIGKILL', timedOut: true }),
      ),
    ).toBe('unavailable');
    const enoent = Object.assign(new Error('spawn ovn-nbctl ENOENT'), { code: 'ENOENT' });
    expect(
      classifyToolError(
        new ToolError({ ...base, exitCode: null, signal: null, timedOut: false }, enoent),
      ),
    ).toBe('unavailable');
  });

  it('the message keeps argv, the outcome and the tool stderr', () => {
    expect(failure('nbctl-connection-refused').message).toBe(
      'ovn-nbctl --db=unix:/tmp/ovncap/nb.sock --timeout=5 -- ls-add sw2 exited 1: ovn-nbctl: unix:/tmp/ovncap/nb.sock: database connection failed (Connection refused)',
    );
    expect(failure('nbctl-database-hangs').message).toMatch(
      /^ovn-nbctl .* list Logical_Switch hit its --timeout: .*terminating with signal 14 \(Alarm clock\)$/,
    );
  });
});

describe('the CLI driver classifies where the tool runs', () => {
  it('a dead NB database: the driver rejects with an unavailable OvnError carrying the tool error', async () => {
    const dead = failure('nbctl-connection-refused');
    const driver = new CliOvnDriver(failingRunner(dead), dbs);
    const err = await driver.setAcls('n1', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnError);
    expect(err).toMatchObject({ kind: 'unavailable', cause: dead, message: dead.message });
    expect((err as OvnError).cause).toMatchObject({
      tool: 'ovn-nbctl',
      exitCode: 1,
      stderr: expect.stringContaining('Connection refused'),
    });
  });

  it('a refused transaction: the driver rejects with a refused OvnError carrying the tool error', async () => {
    const refused = failure('nbctl-transaction-error');
    const driver = new CliOvnDriver(failingRunner(refused), dbs);
    const err = await driver.unpublishPort('n1', 'tcp', 80).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvnError);
    expect(err).toMatchObject({ kind: 'refused', cause: refused });
    expect((err as OvnError).message).toContain('constraint violation');
  });

  it('reads fail classified too (ovs-vsctl without its database)', async () => {
    const driver = new CliOvnDriver(failingRunner(failure('vsctl-no-socket')), dbs);
    await expect(driver.tapPorts()).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('a port that never comes up within the wait is "not up", not a failure', async () => {
    const driver = new CliOvnDriver(failingRunner(failure('sbctl-wait-until-timeout')), dbs);
    expect(await driver.waitPortUp('an-p1', 1000)).toBe(false);
  });
});
