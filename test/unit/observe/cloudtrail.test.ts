import { describe, expect, it } from '@jest/globals';
import { createAuditor } from '../../../src/observe/audit.js';
import { cloudTrailRecord } from '../../../src/observe/cloudtrail.js';
import { captureLogger } from '../../support/log-capture.js';
import { allowOutcome, denyOutcome, request, TOKEN } from './fixtures.js';

const NOW = Date.parse('2026-06-01T12:00:00.123Z');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

const withClient = () =>
  request({
    headers: {
      ...request().headers,
      'user-agent': 'orders-cli/1.2 (linux)',
      traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
    },
  });

describe('cloudTrailRecord', () => {
  it('shapes an allow as a CloudTrail event of the assumed role, with what auditors miss', () => {
    const outcome = { ...allowOutcome(), determiningRoles: ['orders-reader'] };
    expect(cloudTrailRecord(withClient(), outcome, 41.6, NOW, 'abc123def456')).toEqual({
      eventVersion: '1.08',
      eventTime: '2026-06-01T12:00:00Z',
      eventSource: 'orders.rolegate',
      eventName: 'GetOrder',
      eventType: 'AwsApiCall',
      awsRegion: 'rolegate',
      sourceIPAddress: '203.0.113.7',
      userAgent: 'orders-cli/1.2 (linux)',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'orders-reader:alice',
        arn: 'arn:rolegate:iam:::role/orders-reader/alice',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            arn: 'arn:rolegate:iam:::role/orders-reader',
            userName: 'orders-reader',
          },
          webIdFederationData: {
            federatedProvider: 'https://idp.example.com',
            attributes: { sub: 'alice' },
          },
          attributes: { mfaAuthenticated: 'false' },
        },
      },
      requestID: 'req-1',
      eventID: 'dec-allow',
      readOnly: true,
      resources: [{ ARN: 'arn:rolegate:orders:::order/42', type: 'rolegate::orders' }],
      additionalEventData: {
        decision: 'allow',
        reason: 'OK',
        method: 'GET',
        path: '/orders/42',
        host: 'api.example.com',
        userAgent: 'orders-cli/1.2 (linux)',
        configHash: 'abc123def456',
        traceId: TRACE,
        action: 'orders:GetOrder',
        route: 'route[0]',
        rolesConsidered: ['orders-reader'],
        determining: [{ statement: 'identity:read/Read:Allow', role: 'orders-reader' }],
        latencyUs: 42,
      },
    });
  });

  it('a deny is AccessDenied with the catalogue code; before identity the identity is Unknown', () => {
    const deny = cloudTrailRecord(request(), denyOutcome(), 1, NOW);
    expect(deny).toMatchObject({
      errorCode: 'AccessDenied',
      additionalEventData: { decision: 'deny' },
    });
    expect(deny.errorMessage).toBe(denyOutcome().reason);
    const early = cloudTrailRecord(
      request({ method: '', path: '' }),
      {
        decisionId: 'd',
        allowed: false,
        status: 400,
        reason: 'ERR_PATH_INVALID',
        rolesConsidered: [],
        determining: [],
      },
      1,
      NOW,
    );
    expect(early).toMatchObject({
      eventSource: 'rolegate',
      eventName: 'Check',
      userIdentity: { type: 'Unknown' },
      resources: [],
      readOnly: false,
    });
    expect(early.additionalEventData.method).toBeUndefined();
  });

  it('drops a user agent with control characters and an invalid trace id; never carries a credential', () => {
    const hostile = request({
      headers: {
        ...request().headers,
        'user-agent': 'evil\u0007agent',
        traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      },
    });
    const record = cloudTrailRecord(hostile, allowOutcome(), 1, NOW);
    expect(record.userAgent).toBeUndefined();
    expect(record.additionalEventData.traceId).toBeUndefined();
    const text = JSON.stringify([record, cloudTrailRecord(withClient(), denyOutcome(), 1, NOW)]);
    for (const piece of [TOKEN, ...TOKEN.split('.'), 'COOKIE-CANARY', 'UFJPWFktQ0FOQVJZ', 'CANARY'])
      expect(text).not.toContain(piece);
  });

  it('createAuditor writes it at the top level of the line when the format says cloudtrail', () => {
    const capture = captureLogger();
    createAuditor(
      capture.logger,
      () => 1,
      Math.random,
      () => 'h',
      () => 'cloudtrail',
      () => NOW,
    ).record(withClient(), allowOutcome(), 5);
    const [line] = capture.records();
    expect(line).toMatchObject({ eventVersion: '1.08', eventID: 'dec-allow', msg: 'decision' });
    expect(line?.['audit']).toBeUndefined();
  });
});
