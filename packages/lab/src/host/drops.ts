/** `lab stats`: a container's view with each attachment's drops by place. */
import type { OvsNetworkBackend } from '@arca-net/host';
import type { LabContainer } from '../api/routes.js';

/** `view` with `drops` on each live attachment; a container that is not running is returned as is. */
export async function withDrops(
  network: Partial<Pick<OvsNetworkBackend, 'attachmentDrops'>>,
  view: LabContainer,
): Promise<LabContainer> {
  if (view.state !== 'running') return view;
  const drops = await network.attachmentDrops?.(view.id).catch(() => undefined);
  if (!drops) return view;
  return {
    ...view,
    attachments: view.attachments.map((a) => {
      const d = drops.get(a.networkId);
      return d ? { ...a, drops: d } : a;
    }),
  };
}
