/**
 * Every access refusal tells the operator why: the access service on the
 * real embedded store, authorized by rolegate's own IAM engine
 * (`authorizeAccessAction`) on a compiled configuration, audited through the
 * real audit sink. The `access_refused` record names the layer (trust,
 * guardrail, identity policy, boundary) and the statement that stopped the
 * action, or the field and the limit of a malformed request; the error the
 * client is answered with keeps only its code. The clock is frozen.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { auditingEvents } from '../../../src/access/observe.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';
import {
  createAccessService,
  type AccessService,
  type ActionAuthorizer,
} from '../../../src/access/service.js';
import { authorizeAccessAction } from '../../../src/check/access-actions.js';
import { compileConfig } from '../../../src/config/compile.js';
import { validateConfig } from '../../../src/config/schema.js';
import { errorDocAnchor } from '../../../src/errors.js';
import type { Principal } from '../../../src/identity/principal.js';
import { accessScenario, ADMIN_ARN, ACCESS_API_CALL } from '../../support/access.js';
import { captureLogger } from '../../support/log-capture.js';

const ISSUER = 'https://idp.example.com';
const T0 = Date.parse('2030-01-01T00:00:00Z');

/** The shared access scenario, with `guardrails` added. */
function compiled(guardrails: Record<string, unknown> = {}) {
  const { config, problems } = validateConfig({
    ...accessScenario(ISSUER, { file: ':memory:' }),
    guardrails,
  });
  if (!config) throw new Error(JSON.stringify(problems));
  return compileConfig(config, (ref) => ({
    ref,
    document: ref.document,
    file: 'test.yaml',
    basePath: ref.path,
  }));
}

const principal = (subject: string, groups: string[]): Principal => ({
  kind: 'jwt',
  issuer: ISSUER,
  subject,
  claims: { iss: ISSUER, sub: subject, aud: 'orders-api', groups },
  federated: [ISSUER, 'idp.example.com'],
});

const call = ACCESS_API_CALL;

let store: AccessStore;
let audit: ReturnType<typeof captureLogger>;
let service: AccessService;
let config: ReturnType<typeof compiled>;

/** The authorizer the access API hands the service: rolegate's own policies for `p`. */
const authorizerFor =
  (p: Principal): ActionAuthorizer =>
  (action, roleArn, context) =>
    authorizeAccessAction(config, call, p, action, roleArn, context, T0);

const refusal = () =>
  audit
    .records()
    .filter((r) => r['msg'] === 'access_refused')
    .map((r) => r['access'] as Record<string, unknown>)
    .at(-1);

function start(guardrails: Record<string, unknown> = {}) {
  config = compiled(guardrails);
  service = createAccessService({
    store,
    config: () => config.settings.access,
    roleArn: (name) => config.roles.find((r) => r.name === name)?.arn,
    now: () => T0,
    events: auditingEvents(audit.logger, undefined),
  });
}

async function refused(run: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = (await run().then(
    () => undefined,
    (e: unknown) => e,
  )) as { code: string; message: string } | undefined;
  if (err === undefined) throw new Error('expected a refusal');
  return err;
}

const alice = principal('alice', ['engineers']);
const request = (p: Principal, durationSeconds: number) =>
  service.request({ issuer: ISSUER, subject: p.subject, groups: [] }, authorizerFor(p), {
    role: 'staging-admin',
    durationSeconds,
    reason: 'deploy fix',
  });

beforeEach(() => {
  store = openSqliteStore(':memory:');
  audit = captureLogger();
});

afterEach(async () => {
  await store.close();
});

describe('the access_refused audit record', () => {
  it('names the guardrail that lacks rolegate:RequestAccess', async () => {
    start({
      'orders-only': {
        Version: '2012-10-17',
        Statement: [{ Sid: 'OrdersOnly', Effect: 'Allow', Action: 'orders:*', Resource: '*' }],
      },
    });
    const err = await refused(() => request(alice, 600));
    expect(err.code).toBe('ERR_ACCESS_FORBIDDEN');
    expect(refusal()).toMatchObject({
      event: 'refused',
      action: 'rolegate:RequestAccess',
      reason: 'ERR_ACCESS_FORBIDDEN',
      actor: 'alice',
      role: 'staging-admin',
      actual: `role engineer: no guardrail statement allows rolegate:RequestAccess on ${ADMIN_ARN}`,
    });
    expect(errorDocAnchor('ERR_ACCESS_FORBIDDEN')).toBe('docs/errors.md#err_access_forbidden');
  });

  it('names the guardrail statement that denies', async () => {
    start({
      'no-jit': {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'All', Effect: 'Allow', Action: '*', Resource: '*' },
          { Sid: 'NoJustInTime', Effect: 'Deny', Action: 'rolegate:RequestAccess', Resource: '*' },
        ],
      },
    });
    await refused(() => request(alice, 600));
    expect(refusal()?.['actual']).toBe(
      'role engineer: guardrail no-jit statement NoJustInTime denies rolegate:RequestAccess (an explicit Deny)',
    );
  });

  it('names the identity policy statement and the condition that did not hold', async () => {
    start();
    await refused(() => request(alice, 7200));
    expect(refusal()?.['actual']).toBe(
      `role engineer: no identity policy statement allows rolegate:RequestAccess on ${ADMIN_ARN} (request statement RequestStagingRolesUpToAnHour: Condition NumericLessThanEquals rolegate:RequestedDuration did not hold)`,
    );
  });

  it('names trust when no role admits the caller', async () => {
    start();
    await refused(() => request(principal('mallory', ['contractors']), 600));
    expect(refusal()).toMatchObject({
      actor: 'mallory',
      actual: `trust: no role's trust policy admits the caller; engineer would allow rolegate:RequestAccess on ${ADMIN_ARN}, but its trust policy does not admit the caller`,
    });
  });

  it('names the field and the limit of a duration over the role maximum', async () => {
    start();
    const err = await refused(() => request(alice, 18_000));
    expect(err).toMatchObject({
      code: 'ERR_ACCESS_INVALID',
      message: "durationSeconds 18000 exceeds staging-admin's maxGrantSeconds 7200",
    });
    expect(refusal()).toMatchObject({
      reason: 'ERR_ACCESS_INVALID',
      expected:
        'durationSeconds an integer from 60 to 7200 (access.roles.staging-admin.maxGrantSeconds)',
      actual: "durationSeconds 18000 exceeds staging-admin's maxGrantSeconds 7200",
    });
  });
});
