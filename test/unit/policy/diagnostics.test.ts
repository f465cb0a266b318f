import { describe, it, expect } from '@jest/globals';
import { formatDiagnostic } from '../../../src/policy/index.js';
import { childPath } from '../../../src/policy/diagnostics.js';

describe('childPath', () => {
  it('uses dots for identifiers, brackets otherwise', () => {
    let p = childPath('$', 'Statement');
    p = childPath(p, 1);
    p = childPath(p, 'Condition');
    p = childPath(p, 'IpAddress');
    p = childPath(p, 'aws:SourceIp');
    p = childPath(p, 0);
    expect(p).toBe('$.Statement[1].Condition.IpAddress["aws:SourceIp"][0]');
    expect(childPath('$', 'ForAnyValue:StringEquals')).toBe('$["ForAnyValue:StringEquals"]');
  });
});

describe('formatDiagnostic', () => {
  it('names file, policy, statement, path, code and message', () => {
    expect(
      formatDiagnostic({
        severity: 'error',
        code: 'ERR_POLICY_BAD_CIDR',
        message: '"10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR block',
        file: 'roles/app.yaml',
        policy: 'read',
        statement: 'AllowOffice',
        path: '$.Statement[1].Condition.IpAddress["aws:SourceIp"][0]',
      }),
    ).toBe(
      'roles/app.yaml: read: statement AllowOffice: $.Statement[1].Condition.IpAddress["aws:SourceIp"][0]: ERR_POLICY_BAD_CIDR "10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR block',
    );
  });

  it('leaves out absent file and statement', () => {
    expect(
      formatDiagnostic({
        severity: 'error',
        code: 'ERR_POLICY_VERSION',
        message: 'bad',
        policy: 'p',
        path: '$.Version',
      }),
    ).toBe('p: $.Version: ERR_POLICY_VERSION bad');
  });
});
