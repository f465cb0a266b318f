import { describe, expect, it } from '@jest/globals';
import { normaliseEntityRef, parseEntityRef } from '../../../src/catalog/entity-ref.js';

describe('entity refs, as Backstage reads them', () => {
  it.each([
    ['payments-api', 'component', 'component:default/payments-api'],
    ['Component:Default/Payments-API', 'component', 'component:default/payments-api'],
    ['api:payments/ledger', 'component', 'api:payments/ledger'],
    ['team-a/payments', 'group', 'group:team-a/payments'],
    ['payments', 'group', 'group:default/payments'],
    ['user:alice', 'group', 'user:default/alice'],
    ['group:default/pay_ments.eu', 'group', 'group:default/pay_ments.eu'],
    // Backstage's object names take runs of - _ . inside (isValidObjectName), and its
    // namespaces are DNS labels, runs of - inside (isValidDnsLabel).
    ['component:default/double--dash', 'component', 'component:default/double--dash'],
    ['component:default/a._-b', 'component', 'component:default/a._-b'],
    ['component:team--eu/x', 'component', 'component:team--eu/x'],
  ])('%s (default kind %s) is %s', (text, kind, expected) => {
    expect(normaliseEntityRef(text, { kind })).toBe(expected);
  });

  it('takes the namespace default it is given (an owner defaults to its entity’s namespace)', () => {
    expect(normaliseEntityRef('payments', { kind: 'group', namespace: 'EU' })).toBe(
      'group:eu/payments',
    );
  });

  it.each([
    ['', 'name'],
    ['component:', 'name'],
    ['1kind:default/x', 'kind'],
    ['component:default/has space', 'name'],
    ['component:default/-leading', 'name'],
    ['component:default/trailing.', 'name'],
    ['component:pay_ments/x', 'namespace'],
    ['component:pay.ments/x', 'namespace'],
    ['component:-eu/x', 'namespace'],
    ['component:/x', 'namespace'],
    [`component:default/${'a'.repeat(64)}`, 'name'],
  ])('refuses %j, naming the %s', (text, part) => {
    expect(parseEntityRef(text, { kind: 'component' })).toEqual({
      ok: false,
      message: expect.stringMatching(new RegExp(`^${part} `)),
    });
  });

  it('quotes at most 80 characters of what it refuses (the reach query reaches the audit log)', () => {
    const parsed = parseEntityRef(`component:default/${'x '.repeat(5000)}`, { kind: 'component' });
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message.length).toBeLessThan(200);
  });
});
