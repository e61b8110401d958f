/**
 * Offload mode per attachment (ARCHITECTURE §5): a 12-byte virtio-net header
 * after each frame's length, TAPs with TSO/checksum offloads at both ends,
 * so 64 KiB segments cross the relays at MTU 1500. The host chooses it for
 * one attachment in one place, {@link chooseFraming}: only when the
 * forwarder and the helper both say they support it, the connect option
 * does not turn it off, and the network's driver does not veto it.
 */
import { CAPABILITY_OFFLOAD } from '@arca-net/proto';
import type { Framing } from '@arca-net/vsock';
import { errors } from './errors.js';
import type { ForwarderPool } from './forwarders.js';
import type { HelperClient } from './helper-client.js';
import type { ContainerRecord, NetworkRecord } from './state.js';

export type { Framing } from '@arca-net/vsock';

/**
 * What a connect asks for: `auto` negotiates (offload when both sides
 * support it), `on` requires offload (the connect fails when a side lacks
 * it), `off` keeps plain QEMU framing.
 */
export type OffloadPreference = 'auto' | 'on' | 'off';
export const OFFLOAD_PREFERENCES: readonly OffloadPreference[] = ['auto', 'on', 'off'];

/**
 * The endpoint driver option (`docker network connect --driver-opt`) and the
 * network option (`docker network create -o`) that carry the preference.
 */
export const OFFLOAD_OPTION = 'arca-net.offload';

/** Parses a preference; '' or undefined is `fallback`. Throws INVALID_OPTION. */
export function parseOffloadPreference(
  value: string | undefined,
  fallback: OffloadPreference,
): OffloadPreference {
  if (value === undefined || value === '') return fallback;
  if ((OFFLOAD_PREFERENCES as readonly string[]).includes(value)) return value as OffloadPreference;
  throw errors.invalidOption(
    `invalid ${OFFLOAD_OPTION} "${value}": expected ${OFFLOAD_PREFERENCES.join(', ')}`,
  );
}

/**
 * Why a network's attachments must stay plain, or undefined: the network
 * option `arca-net.offload=off` says so, and an overlay network always does:
 * OVS 3.1's userspace datapath drops offloaded packets at a Geneve
 * encapsulation ("Tunneling packets with HW offload flags is not supported:
 * packet dropped").
 */
export function networkOffloadVeto(n: NetworkRecord): string | undefined {
  if (n.options[OFFLOAD_OPTION] === 'off') return `network ${n.name} has ${OFFLOAD_OPTION}=off`;
  if (n.driver === 'overlay') {
    return `network ${n.name} is an overlay network (OVS drops offloaded packets entering a Geneve tunnel)`;
  }
  return undefined;
}

/** Which sides support offload framing. */
export interface OffloadSupport {
  forwarder: boolean;
  helper: boolean;
}

/**
 * The framing of one attachment: `off` → plain; a network veto → plain (or
 * INVALID_OPTION for `on`); otherwise offload when both sides support it,
 * plain for `auto` when one does not, INVALID_OPTION for `on`.
 */
export function chooseFraming(
  preference: OffloadPreference,
  support: OffloadSupport,
  veto: string | undefined,
  label: string,
): Framing {
  if (preference === 'off') return 'plain';
  const missing = [
    ...(support.forwarder ? [] : ['the container VM']),
    ...(support.helper ? [] : ['the helper VM']),
  ];
  const lack = missing.length > 1 ? 'lack' : 'lacks';
  const why = veto ?? (missing.length > 0 ? `${missing.join(' and ')} ${lack} offload` : undefined);
  if (why === undefined) return 'offload';
  if (preference === 'on') {
    throw errors.invalidOption(`${OFFLOAD_OPTION}=on for ${label}: ${why}`);
  }
  return 'plain';
}

/** Asks both sides (unless `preference` is off) and applies {@link chooseFraming}. */
export async function negotiateFraming(
  preference: OffloadPreference,
  parts: { helper: HelperClient; forwarders: ForwarderPool },
  c: ContainerRecord,
  n: NetworkRecord,
): Promise<Framing> {
  if (preference === 'off') return 'plain';
  const [forwarder, helper] = await Promise.all([
    parts.forwarders.capabilities(c).catch(() => [] as string[]),
    parts.helper.capabilities().catch(() => [] as string[]),
  ]);
  return chooseFraming(
    preference,
    {
      forwarder: forwarder.includes(CAPABILITY_OFFLOAD),
      helper: helper.includes(CAPABILITY_OFFLOAD),
    },
    networkOffloadVeto(n),
    `${c.name} on ${n.name}`,
  );
}
