/**
 * A small web server in a lab container and a client for it, for the
 * cluster's published-port tests: busybox httpd serving one file, wget from
 * the host or a namespace. Host ports come from the kernel's free ones, since
 * other labs share this machine.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { inNamespace, tryCommand } from '../../packages/lab/dist/index.js';

/** `busybox wget` of http://target/ from `ns` (the host when undefined); undefined on failure. */
export async function wget(ns: string | undefined, target: string): Promise<string | undefined> {
  const r = await tryCommand(inNamespace(ns, ['busybox', 'wget', '-qO-', `http://${target}/`]), {
    timeoutMs: 15_000,
  });
  return r.code === 0 ? r.stdout : undefined;
}

/** busybox httpd serving `dir` on port 80 in `ns`, once it answers on `ip` (bounded poll). */
export async function startHttpd(ns: string, ip: string, dir: string): Promise<ChildProcess> {
  const [file, ...args] = inNamespace(ns, ['busybox', 'httpd', '-f', '-p', '80', '-h', dir]);
  const child = spawn(file ?? 'ip', args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if ((await wget(ns, ip)) !== undefined) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`httpd in ${ns} did not start`);
}
