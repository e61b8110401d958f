import { describe, expect, it } from 'vitest';
import { CommandError, inNamespace, runCommand, tryCommand } from '../src/command.js';

describe('running a tool', () => {
  it('runCommand resolves with what the tool printed', async () => {
    const result = await runCommand(['sh', '-c', 'echo out; echo err >&2']);
    expect(result).toEqual({ code: 0, stdout: 'out\n', stderr: 'err\n' });
  });

  it('runCommand rejects with argv, exit code and the last line of stderr', async () => {
    const error = await runCommand(['sh', '-c', 'echo first >&2; echo why >&2; exit 3']).catch(
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({
      argv: ['sh', '-c', 'echo first >&2; echo why >&2; exit 3'],
      exitCode: 3,
      stderr: 'first\nwhy\n',
      message: 'sh -c echo first >&2; echo why >&2; exit 3: why',
    });
  });

  it('tryCommand resolves with the exit code instead of rejecting', async () => {
    expect(await tryCommand(['sh', '-c', 'echo no >&2; exit 4'])).toEqual({
      code: 4,
      stdout: '',
      stderr: 'no\n',
    });
  });

  it('says why a tool that cannot start did not run', async () => {
    const result = await tryCommand(['/nonexistent/tool']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ENOENT');
  });

  it('prefixes argv with ip netns exec for a namespace, and leaves it alone without one', () => {
    expect(inNamespace('ns1', ['ping', '-c', '1', 'x'])).toEqual([
      ...['ip', 'netns', 'exec', 'ns1'],
      ...['ping', '-c', '1', 'x'],
    ]);
    expect(inNamespace(undefined, ['ping'])).toEqual(['ping']);
  });
});
