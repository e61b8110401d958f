import { describe, expect, it } from 'vitest';
import { errors, errorTable, isBackendError, type NetworkBackendError } from '../src/errors.js';

describe('domain errors', () => {
  it("use Docker's wording", () => {
    const table: Array<[NetworkBackendError, string]> = [
      [errors.networkNameExists('web'), 'network with name web already exists'],
      [errors.poolOverlap(), 'Pool overlaps with other one on this address space'],
      [errors.networkNotFound('web'), 'network web not found'],
      [
        errors.networkHasEndpoints('web', 'abc'),
        'error while removing network: network web id abc has active endpoints',
      ],
      [errors.endpointExists('c1', 'web'), 'endpoint with name c1 already exists in network web'],
      [errors.notConnected('c1', 'web'), 'container c1 is not connected to network web'],
      [errors.addressInUse(), 'Address already in use'],
      [
        errors.ipNotInSubnet('10.0.0.9'),
        'no configured subnet or ip-range contain the IP address 10.0.0.9',
      ],
      [
        errors.invalidGateway('10.1.0.1', "parent subnet 10.0.0.0/24 doesn't contain this address"),
        "invalid gateway 10.1.0.1: parent subnet 10.0.0.0/24 doesn't contain this address",
      ],
      [errors.containerNotFound('c9'), 'No such container: c9'],
      [
        errors.poolOverlap('helper VM: CreateBridge web: ALREADY_EXISTS: subnet overlaps'),
        'Pool overlaps with other one on this address space (helper VM: CreateBridge web: ALREADY_EXISTS: subnet overlaps)',
      ],
    ];
    for (const [err, text] of table) expect(err.message).toBe(text);
  });

  it('carry a code and the kind from the one table', () => {
    const err = errors.networkNotFound('x');
    expect(err.code).toBe('NETWORK_NOT_FOUND');
    expect(err.kind).toBe('not-found');
    expect(isBackendError(err, 'NETWORK_NOT_FOUND')).toBe(true);
    expect(isBackendError(new Error('x'))).toBe(false);
    expect(errorTable.ADDRESS_IN_USE).toBe('conflict');
    expect(errorTable.HELPER_UNAVAILABLE).toBe('unavailable');
  });
});
