/**
 * What every `lab` command shares: how slow steps are reported, the settings
 * `lab up` records in `<lab>/lab.json`, and the bound of each readiness wait.
 */
import { readFile } from 'node:fs/promises';
import type { OffloadPreference, RelayEngine } from '@arca-net/host';
import type { LabPaths } from './paths.js';

/** How `lab up` and `lab down` report their slow steps (the CLI draws progress lines). */
export interface LabProgress {
  /** Runs `work` as the step called `title`; `update` replaces the running text. */
  step<T>(title: string, work: (update: (text: string) => void) => Promise<T>): Promise<T>;
}

/** Reports nothing. */
export const silentProgress: LabProgress = { step: (_title, work) => work(() => undefined) };

/** What `lab up` records in `<lab>/lab.json`. */
export interface LabSettings {
  prefix: string;
  createdAt: string;
  /** The lab host's relay engine (absent in labs from before the option: native). */
  hostRelay?: RelayEngine;
  /** Upstream resolvers of the lab's DNS (absent in labs from before the option). */
  dnsUpstreams?: string[];
  /** Hosts of the lab (`lab up --hosts N`; absent: 1). Hosts 2… have their own lab.json without it. */
  hosts?: number;
  /** Offload preference of connects that name none (absent: off; `lab up --offload`: auto). */
  offload?: OffloadPreference;
}

/** The settings of the lab in `paths.dir`, or undefined when none was brought up there. */
export async function readLabSettings(paths: LabPaths): Promise<LabSettings | undefined> {
  try {
    return JSON.parse(await readFile(paths.settings, 'utf8')) as LabSettings;
  } catch {
    return undefined;
  }
}

/** Bound of each readiness wait of `lab up`: `ARCA_NET_LAB_TIMEOUT` seconds, default 90. */
export function labTimeoutMs(): number {
  const seconds = Number(process.env.ARCA_NET_LAB_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 90_000;
}
