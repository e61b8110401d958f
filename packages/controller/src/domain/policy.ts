/**
 * Network policies (SetNetworkPolicy): validated rules and the OVN ACLs they
 * become on the network's logical switch.
 */
import type { AclRecord } from '../ovn/model.js';

/** A policy rule after validation (what SetNetworkPolicy receives). */
export interface PolicyRule {
  allow: boolean;
  protocol: 'tcp' | 'udp' | 'icmp' | 'any';
  /** Network id of the traffic's source; '' = any network. */
  sourceNetwork: string;
  /** Network id of the traffic's destination; '' = any network. */
  destinationNetwork: string;
  port: number;
  priority: number;
}

/** Highest rule priority accepted; OVN ACL priority = 1000 + rule priority. */
export const MAX_RULE_PRIORITY = 30000;

/**
 * The ACLs of a network's policy, in rule order; `subnetOf` names the subnet
 * of a network a rule refers to (and throws NOT_FOUND for an unknown one).
 */
export function policyAcls(
  rules: PolicyRule[],
  subnetOf: (networkId: string) => string,
): AclRecord[] {
  return rules.map((rule): AclRecord => {
    const match = ['ip4'];
    if (rule.protocol === 'icmp') match.push('icmp4');
    if (rule.protocol === 'tcp' || rule.protocol === 'udp') {
      match.push(rule.protocol);
      if (rule.port > 0) match.push(`${rule.protocol}.dst == ${rule.port}`);
    }
    if (rule.sourceNetwork) match.push(`ip4.src == ${subnetOf(rule.sourceNetwork)}`);
    if (rule.destinationNetwork) match.push(`ip4.dst == ${subnetOf(rule.destinationNetwork)}`);
    return {
      priority: 1000 + rule.priority,
      match: match.join(' && '),
      action: rule.allow ? 'allow-related' : 'drop',
    };
  });
}
