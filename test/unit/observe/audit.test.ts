import { describe, expect, it } from '@jest/globals';
import { auditRecord, createAuditor, formatDetermining } from '../../../src/observe/audit.js';
import { captureLogger } from '../../support/log-capture.js';
import { allowOutcome, denyOutcome, request, TOKEN } from './fixtures.js';

describe('auditRecord', () => {
  it('holds exactly the documented fields for an allow', () => {
    expect(auditRecord(request(), allowOutcome(), 41.6)).toEqual({
      decision_id: 'dec-allow',
      method: 'GET',
      path: '/orders/42',
      request_id: 'req-1',
      issuer: 'https://idp.example.com',
      subject: 'alice',
      roles_considered: ['orders-reader'],
      role: 'arn:rolegate:iam:::role/orders-reader',
      action: 'orders:GetOrder',
      resource: 'arn:rolegate:orders:::order/42',
      decision: 'allow',
      reason: 'OK',
      determining: ['identity:read/Read:Allow'],
      latency_us: 42,
      source_address: '203.0.113.7',
      route: 'route[0]',
    });
  });

  it('leaves out what a deny before identity does not know', () => {
    const record = auditRecord(
      request({ requestId: '' }),
      {
        decisionId: 'd',
        allowed: false,
        status: 401,
        reason: 'ERR_CREDENTIAL_MISSING',
        rolesConsidered: [],
        determining: [],
      },
      3,
    );
    expect(record).toEqual({
      decision_id: 'd',
      request_id: '',
      method: 'GET',
      path: '/orders/42',
      roles_considered: [],
      decision: 'deny',
      reason: 'ERR_CREDENTIAL_MISSING',
      determining: [],
      latency_us: 3,
      source_address: '203.0.113.7',
    });
  });

  it('never carries a header value, token piece or claim', () => {
    const text = JSON.stringify([
      auditRecord(request(), allowOutcome(), 1),
      auditRecord(request(), denyOutcome(), 1),
    ]);
    for (const piece of [
      TOKEN,
      ...TOKEN.split('.'),
      'COOKIE-CANARY',
      'UFJPWFktQ0FOQVJZ',
      'CANARY',
    ]) {
      expect(text).not.toContain(piece);
    }
  });

  it('never carries the upstream credentials of an allow on a credentials route', () => {
    const record = auditRecord(
      request(),
      {
        ...allowOutcome(),
        credentialHeaders: {
          'x-rolegate-aws-access-key-id': 'ASIACANARYKEY0001',
          'x-rolegate-aws-secret-access-key': 'SECRET-CANARY-0002',
          'x-rolegate-aws-session-token': 'SESSION-CANARY-0003',
        },
      },
      1,
    );
    const text = JSON.stringify(record);
    for (const piece of ['ASIACANARYKEY0001', 'SECRET-CANARY-0002', 'SESSION-CANARY-0003'])
      expect(text).not.toContain(piece);
  });

  it('formats determining statements', () => {
    expect(
      formatDetermining({ layer: 'guardrail', effect: 'Deny', policy: 'g', statement: '#1' }),
    ).toBe('guardrail:g/#1:Deny');
    expect(formatDetermining({ layer: 'boundary', effect: 'ImplicitDeny' })).toBe(
      'boundary:ImplicitDeny',
    );
  });
});

describe('createAuditor', () => {
  it('writes one JSON line per decision with time and the record', () => {
    const capture = captureLogger();
    createAuditor(capture.logger, () => 1).record(request(), denyOutcome(), 12);
    const [line] = capture.records();
    expect(line?.['msg']).toBe('decision');
    expect(typeof line?.['time']).toBe('string');
    expect(Number.isNaN(Date.parse(line?.['time'] as string))).toBe(false);
    expect(line?.['audit']).toMatchObject({ decision_id: 'dec-deny', reason: 'ERR_IMPLICIT_DENY' });
  });

  it('always records denies and samples allows by rate', () => {
    const capture = captureLogger();
    const draws = [0.2, 0.7, 0.49, 0.5];
    let drawn = 0;
    const auditor = createAuditor(
      capture.logger,
      () => 0.5,
      () => draws[drawn++] ?? 1,
    );
    for (let i = 0; i < 4; i++) auditor.record(request(), allowOutcome(), 1);
    for (let i = 0; i < 3; i++) auditor.record(request(), denyOutcome(), 1);
    const decisions = capture.records().map((r) => (r['audit'] as { decision: string }).decision);
    expect(decisions).toEqual(['allow', 'allow', 'deny', 'deny', 'deny']);
    expect(drawn).toBe(4); // denies never draw
  });

  it('records every allow at rate 1 and none at rate 0, without drawing', () => {
    let draws = 0;
    const random = () => {
      draws++;
      return 0.99;
    };
    const all = captureLogger();
    createAuditor(all.logger, () => 1, random).record(request(), allowOutcome(), 1);
    const none = captureLogger();
    createAuditor(none.logger, () => 0, random).record(request(), allowOutcome(), 1);
    expect(all.lines).toHaveLength(1);
    expect(none.lines).toHaveLength(0);
    expect(draws).toBe(0);
  });

  it('reads the rate on every decision, so a reload applies at once', () => {
    const capture = captureLogger();
    let rate = 0;
    const auditor = createAuditor(capture.logger, () => rate);
    auditor.record(request(), allowOutcome(), 1);
    rate = 1;
    auditor.record(request(), allowOutcome(), 1);
    expect(capture.lines).toHaveLength(1);
  });
});
