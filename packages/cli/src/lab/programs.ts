/**
 * Where the programs the lab starts live in this checkout. The CLI runs from
 * `packages/cli/dist`, so every path is relative to the repository root.
 */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

function repoPath(relative: string): string {
  return `${repoRoot}${relative}`;
}

/** The helper "VM"'s startup script (the same one the helper image runs). */
export const helperStartupScript = repoPath('helpervm/startup.sh');
/** The controller's entry point (startup.sh execs it). */
export const controllerMain = repoPath('packages/controller/dist/main.js');
/** The container "VM"'s forwarder. */
export const forwarderMain = repoPath('packages/forwarder/dist/main.js');
/** The lab host process (this package). */
export const hostMain = fileURLToPath(new URL('../daemon/main.js', import.meta.url));

/** Files that must exist before a lab can start, with the fix when one is missing. */
export async function missingPrograms(): Promise<string[]> {
  const missing: string[] = [];
  for (const file of [helperStartupScript, controllerMain, forwarderMain, hostMain]) {
    try {
      await access(file);
    } catch {
      missing.push(file);
    }
  }
  return missing;
}
