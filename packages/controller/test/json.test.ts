import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bool, decodeValue, parseTable, str, strMap, strs } from '../src/ovn/json.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/ovn/${name}`, import.meta.url), 'utf8');

describe('OVSDB JSON decoding', () => {
  it('decodes atoms, uuids, sets and maps', () => {
    expect(decodeValue('x')).toBe('x');
    expect(decodeValue(3)).toBe(3);
    expect(decodeValue(['uuid', 'ab-cd'])).toBe('ab-cd');
    expect(decodeValue(['set', [1, 2]])).toEqual([1, 2]);
    expect(decodeValue(['map', [['k', 'v']]])).toEqual(new Map([['k', 'v']]));
  });

  it('rejects malformed values', () => {
    expect(() => decodeValue(['set', 'x'])).toThrow(/unexpected OVSDB JSON/);
    expect(() => decodeValue({})).toThrow(/unexpected OVSDB JSON atom/);
    expect(() => parseTable('{"headings":["a"],"data":[[1,2]]}')).toThrow(/row/);
  });

  it('reads a real Logical_Switch listing (maps with quoted JSON values, empty sets)', () => {
    const [ls] = parseTable(fixture('nb-Logical_Switch.json'));
    expect(ls).toBeDefined();
    if (!ls) return;
    expect(str(ls, 'name')).toBe('ls-x');
    expect(strMap(ls, 'other_config').get('exclude_ips')).toBe(
      '198.51.100.1 198.51.100.2..198.51.100.9',
    );
    expect(strMap(ls, 'external_ids').get('arca-net:labels')).toBe('{"a b":"c=d;{}"}');
    expect(strs(ls, 'dns_records')).toHaveLength(1);
    expect(strs(ls, 'acls')).toHaveLength(1);
    expect(strs(ls, 'qos_rules')).toEqual([]);
  });

  it('reads a real Logical_Switch_Port listing (single-element sets as atoms, booleans)', () => {
    const rows = parseTable(fixture('nb-Logical_Switch_Port.json'));
    const p1 = rows.find((r) => str(r, 'name') === 'p1');
    expect(p1 && strs(p1, 'addresses')).toEqual(['0a:58:00:00:00:05 198.51.100.5']);
    expect(p1 && strs(p1, 'port_security')).toEqual(['0a:58:00:00:00:05 198.51.100.5']);
    const rp = rows.find((r) => str(r, 'name') === 'rp-x');
    expect(rp && bool(rp, 'up')).toBe(true);
    expect(rp && strMap(rp, 'options').get('router-port')).toBe('lrp-x');
  });

  it('reads real DHCP_Options, Load_Balancer and SB Port_Binding listings', () => {
    const [dhcp] = parseTable(fixture('nb-DHCP_Options.json'));
    expect(dhcp && str(dhcp, 'cidr')).toBe('198.51.100.0/24');
    expect(dhcp && strMap(dhcp, 'options').get('server_mac')).toBe('0a:00:00:00:00:01');
    const [lb] = parseTable(fixture('nb-Load_Balancer.json'));
    expect(lb && strMap(lb, 'vips').get('203.0.113.1:8080')).toBe('198.51.100.5:80');
    const bindings = parseTable(fixture('sb-Port_Binding.json'));
    expect(
      bindings.map((b) => [str(b, 'logical_port'), str(b, 'chassis'), bool(b, 'up')]),
    ).toContainEqual(['p1', '', false]);
  });
});
