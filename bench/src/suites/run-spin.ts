/** The `spin` suite of `make bench` (see spin.ts): the spin lab's figures beside the shared `arca-net` lab's. */
import type { PathLab } from '../configs/lab.js';
import type { Figure } from '../figures.js';
import { runHopsSuite } from './hops.js';
import { FULL_BUDGET, QUICK_BUDGET } from './path.js';
import { SPIN_CONFIG, spinCpuFigures, spinPathFigures, upSpinLab } from './spin.js';

export async function runSpinSuite(
  nativeLab: PathLab,
  quick: boolean,
  log: (line: string) => void,
): Promise<Figure[]> {
  const figures = await spinCpuFigures(nativeLab, 'arca-net', quick, log);
  log(`spin: bringing up a lab with ARCA_NET_RELAY_SPIN_US`);
  const spinLab = await upSpinLab();
  try {
    figures.push(...(await spinCpuFigures(spinLab, SPIN_CONFIG, quick, log)));
    figures.push(...(await spinPathFigures(spinLab, quick ? QUICK_BUDGET : FULL_BUDGET, log)));
    const hops = await runHopsSuite(spinLab, quick, log);
    figures.push(...hops.map((f) => ({ ...f, config: SPIN_CONFIG })));
    return figures;
  } finally {
    await spinLab.lab.down();
  }
}
