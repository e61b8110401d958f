/**
 * Where the programs the lab starts live in this checkout. The lab runs from
 * `packages/lab/dist`, so every path is relative to the repository root.
 */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function repoPath(relative: string): string {
  return `${repoRoot}${relative}`;
}

/** The helper "VM"'s startup script (the same one the helper image runs). */
export const helperStartupScript = repoPath('helpervm/startup.sh');
/** The controller's entry point (startup.sh runs and supervises it). */
export const controllerMain = repoPath('packages/controller/dist/main.js');
/** The container "VM"'s forwarder. */
export const forwarderMain = repoPath('packages/forwarder/dist/main.js');
/** The lab host process (this package). */
export const hostMain = fileURLToPath(new URL('./host/main.js', import.meta.url));

/** Programs `lab up` starts that are missing (the forwarder is checked by `lab run`). */
export async function missingPrograms(): Promise<string[]> {
  const missing: string[] = [];
  // startup.sh runs ARCA_CONTROLLER_CMD instead of the built controller when it is set.
  const controller = process.env.ARCA_CONTROLLER_CMD ? [] : [controllerMain];
  for (const file of [helperStartupScript, ...controller, hostMain]) {
    try {
      await access(file);
    } catch {
      missing.push(file);
    }
  }
  return missing;
}
