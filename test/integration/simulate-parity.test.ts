/**
 * `rolegate simulate --config` and the live gRPC server give the same answer.
 *
 * A seeded generator builds a corpus of requests over three issuers with
 * different claim mappings (`groupsClaim` nested and flat, `tagClaims`
 * nested and flat, `requiredClaims`), roles whose trust policies read
 * groups, tags, `sub` and `aud`, routes with `{x+}` parameters and Envoy
 * `context_extensions`, guardrails with Deny, a permissions boundary,
 * `http:header/` and `IpAddress` conditions (IPv4, IPv6, `::ffff:` mapped)
 * and hostile paths. Each case is answered three times: by `simulateLine` on
 * the configuration file the server loaded (with the token's claims), by
 * `simulateToken` (`simulate --token`: the token verified with keys fetched
 * from the issuer), and by a real rolegate over real gRPC with the same real
 * RS256 token. Decision, status, reason, role, action, resource and determining
 * statements must be identical.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import { simulateLine, simulateToken } from '../../src/cli/simulate-config.js';
import { loadConfig } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/compile.js';
import { RolegateError } from '../../src/errors.js';
import type { Rolegate } from '../../src/main.js';
import { formatDetermining } from '../../src/observe/audit.js';
import type { Determining } from '../../src/policy/types.js';
import { loadAuthorizationClient } from '../support/authorization-client.js';
import { JwksIssuer } from '../harness/jwks.js';
import { captureLogger } from '../support/log-capture.js';
import { ORDER_ROUTES } from '../support/fixtures.js';
import { seededRandom } from '../support/random.js';
import { startTestRolegate } from '../support/rolegate.js';

/** Cases in the corpus; the generator is seeded, so every run sees the same ones. */
const CORPUS_SIZE = 400;
const SEED = 0x5eed_11;

const allow = (Action: string | string[], Resource: string | string[], Condition?: object) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...(Condition ? { Condition } : {}),
});

/** A loaded CI machine may take longer than the default 250 ms to serve the first key fetch. */
const KEYS = { maxWaitMs: 5000 };

function parityConfig(a: JwksIssuer, b: JwksIssuer, c: JwksIssuer): object {
  const hostA = a.issuer.replace(/^https?:\/\//, '');
  const hostC = c.issuer.replace(/^https?:\/\//, '');
  const trust = (federated: string[], condition: object) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: federated },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: condition,
      },
    ],
  });
  const doc = (...Statement: object[]) => ({ Version: '2012-10-17', Statement });
  return {
    server: { shutdownDelaySeconds: 0, drainSeconds: 1 },
    issuers: [
      {
        issuer: a.issuer,
        audiences: ['api-a'],
        jwksUri: a.jwksUri,
        keys: KEYS,
        groupsClaim: 'realm_access.roles',
        tagClaims: { team: 'org.team', dept: 'dept' },
      },
      {
        issuer: b.issuer,
        audiences: ['api-b'],
        jwksUri: b.jwksUri,
        keys: KEYS,
        groupsClaim: 'groups',
        tagClaims: { team: 'team' },
        federatedPrincipals: ['arn:aws:iam::111122223333:oidc-provider/idp-b.example'],
      },
      {
        issuer: c.issuer,
        audiences: ['api-c', 'api-c2'],
        jwksUri: c.jwksUri,
        keys: KEYS,
        requiredClaims: { tenant: ['acme', 'globex'] },
        tagClaims: { tenant: 'tenant' },
      },
    ],
    guardrails: {
      baseline: doc(
        { Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' },
        {
          Sid: 'Blocked',
          Effect: 'Deny',
          Action: '*',
          Resource: '*',
          Condition: { StringEquals: { 'http:header/x-block': 'yes' } },
        },
        {
          Sid: 'DeleteFromInside',
          Effect: 'Deny',
          Action: 'orders:DeleteOrder',
          Resource: '*',
          Condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] } },
        },
      ),
    },
    roles: [
      {
        name: 'reader',
        trustPolicy: trust([a.issuer, 'arn:aws:iam::111122223333:oidc-provider/idp-b.example'], {
          'ForAnyValue:StringEquals': { 'rolegate:groups': ['readers', 'admins'] },
        }),
        policies: {
          read: doc(
            allow(['orders:GetOrder', 'files:Access'], '*', {
              StringNotEquals: { 'http:method': 'DELETE' },
              StringEqualsIfExists: { 'http:query/view': ['summary', 'full'] },
            }),
          ),
        },
      },
      {
        name: 'writer',
        trustPolicy: trust([hostA], {
          StringEquals: { 'aws:PrincipalTag/team': 'platform', [`${hostA}:aud`]: 'api-a' },
        }),
        policies: {
          write: doc(
            allow('orders:*', 'arn:rolegate:orders:::order/*', {
              IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32', '192.168.0.0/16'] },
            }),
          ),
        },
        permissionsBoundary: doc(allow(['orders:*', 'files:*'], '*'), {
          Sid: 'ApprovedDeletesOnly',
          Effect: 'Deny',
          Action: 'orders:DeleteOrder',
          Resource: '*',
          Condition: { StringNotEquals: { 'http:header/x-approve': 'yes' } },
        }),
      },
      {
        name: 'service',
        trustPolicy: trust([c.issuer], {
          StringLike: { [`${hostC}:sub`]: 'svc-*' },
          StringEquals: { 'aws:PrincipalTag/tenant': 'acme' },
        }),
        policies: {
          files: doc(
            allow('files:Access', [
              'arn:rolegate:files:::shared/*',
              'arn:rolegate:files:::${jwt:sub}/*',
            ]),
            allow('ctx:*', '*', { StringEquals: { 'envoy:context/zone': 'green' } }),
          ),
        },
      },
      {
        name: 'data',
        trustPolicy: trust([b.issuer], {
          StringEquals: { 'jwt:org.team': 'data' },
          'ForAnyValue:StringLike': { 'rolegate:groups': 'data-*' },
        }),
        policies: {
          data: doc(allow(['files:Access', 'ctx:*', 'orders:GetOrder'], '*'), {
            Sid: 'FilesOverTls',
            Effect: 'Deny',
            Action: 'files:Access',
            Resource: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        },
      },
    ],
    routes: [
      ...ORDER_ROUTES,
      {
        method: '*',
        path: '/files/{key+}',
        action: 'files:Access',
        resource: 'arn:rolegate:files:::{key}',
      },
    ],
    unmatchedRoutes: 'deny',
    headers: { claims: { 'x-user-email': 'email', 'x-user-team': 'org.team' } },
  };
}

interface Case {
  /** Which issuer signs: 0..2 are configured, 3 is not. */
  readonly issuer: number;
  readonly claims: Record<string, unknown>;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly sourceIp?: string;
  readonly contextExtensions: Record<string, string>;
  /** TLS downstream: `scheme: https` on the wire, `secure: true` for simulate. */
  readonly secure: boolean;
}

const SUBJECTS = ['alice', 'bob', 'svc-1', 'svc-orders', 'carol', 'svc-a/b', 'dave'];
const GROUPS = ['readers', 'admins', 'data-eng', 'data-sci', 'nobody', 'writers'];
const TEAMS = ['platform', 'data', 'sales', 'Platform'];
const TENANTS = ['acme', 'globex', 'initech'];
const METHODS = ['GET', 'GET', 'DELETE', 'POST', 'get', 'PUT'];
const PATHS = [
  '/orders/42',
  '/orders/7/',
  '/orders/%37',
  '/x/../orders/9',
  '/orders/./5',
  '/%2e%2e/orders/1',
  '/orders/a%2Fb',
  '/files/shared/report.pdf',
  '/files/svc-1/notes/a.txt',
  '/files/svc-orders/x',
  '/files/%73hared/a',
  '/files/shared/../svc-1/x',
  '//files///shared//b',
  '/files/a;x=1',
  '/files/%2574',
  '/files/a%00b',
  '/unknown/path',
  '/orders/42?verbose=1',
  '/orders/42?view=full',
  '/orders/42?VIEW=raw&view=summary',
  '/files/shared/x?view=raw',
  '/',
];
const SOURCES = [
  '10.1.2.3',
  '::ffff:10.1.2.3',
  '192.168.4.5',
  '::ffff:192.168.4.5',
  '203.0.113.9',
  '2001:db8::7',
  '2001:DB8:0:0::8',
  '::ffff:203.0.113.9',
  'fe80::1%eth0',
  undefined,
];

function generate(n: number, seed: number): Case[] {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const maybe = (p: number) => rnd() < p;
  const some = <T>(xs: readonly T[]): T[] => xs.filter(() => maybe(0.35));
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) {
    const issuer = maybe(0.04) ? 3 : Math.floor(rnd() * 3);
    const claims: Record<string, unknown> = { sub: pick(SUBJECTS) };
    if (issuer === 0) {
      if (maybe(0.8)) claims['realm_access'] = { roles: some(GROUPS) };
      if (maybe(0.7)) claims['org'] = { team: pick(TEAMS) };
      if (maybe(0.3)) claims['dept'] = maybe(0.5) ? 'ops' : 7;
      claims['aud'] = 'api-a';
    } else if (issuer === 1) {
      if (maybe(0.8)) claims['groups'] = maybe(0.2) ? pick(GROUPS) : some(GROUPS);
      if (maybe(0.5)) claims['team'] = pick(TEAMS);
      if (maybe(0.5)) claims['org'] = { team: pick(TEAMS) };
      claims['aud'] = 'api-b';
    } else {
      if (maybe(0.9))
        claims['tenant'] = maybe(0.15) ? [pick(TENANTS), pick(TENANTS)] : pick(TENANTS);
      claims['aud'] = maybe(0.5) ? 'api-c' : ['api-c2', 'other'];
    }
    if (maybe(0.5)) {
      claims['email'] = maybe(0.1)
        ? 'evil@example.com\r\nx-admin: 1'
        : `${String(claims['sub'])}@example.com`;
    }
    const headers: Record<string, string> = {};
    if (maybe(0.3)) headers['x-approve'] = maybe(0.6) ? 'yes' : 'no';
    if (maybe(0.08)) headers['x-block'] = 'yes';
    if (maybe(0.15))
      headers['x-rolegate-role'] = pick(['reader', 'writer', 'service', 'data', 'ghost']);
    if (maybe(0.1)) headers['X-Trace-Note'] = 'hello';
    const contextExtensions: Record<string, string> = {};
    if (maybe(0.15)) {
      contextExtensions['action'] = pick(['ctx:Read', 'ctx:Write', 'orders:GetOrder']);
      contextExtensions['resource'] = pick([
        'arn:rolegate:ctx:::a',
        'arn:rolegate:orders:::order/1',
      ]);
      if (maybe(0.6)) contextExtensions['zone'] = pick(['green', 'red']);
    }
    const sourceIp = pick(SOURCES);
    cases.push({
      issuer,
      claims,
      method: pick(METHODS),
      path: pick(PATHS),
      headers,
      ...(sourceIp === undefined ? {} : { sourceIp }),
      contextExtensions,
      secure: maybe(0.5),
    });
  }
  return cases;
}

/** What both sides must agree on. */
interface Answer {
  readonly decision: string;
  readonly status: number;
  readonly reason: string;
  readonly role?: string;
  readonly action?: string;
  readonly resource?: string;
  readonly determining: readonly string[];
}

type CheckClient = InstanceType<ReturnType<typeof loadAuthorizationClient>>;

describe('simulate --config and the live server give the same answer', () => {
  const issuers = [new JwksIssuer(), new JwksIssuer(), new JwksIssuer(), new JwksIssuer()];
  const audit = captureLogger();
  const ops = captureLogger('warn');
  let rolegate: Rolegate;
  let config: LoadedConfig;
  let client: CheckClient;

  beforeAll(async () => {
    await Promise.all(issuers.map((i) => i.start()));
    const [a, b, c] = issuers as [JwksIssuer, JwksIssuer, JwksIssuer];
    const started = await startTestRolegate(parityConfig(a, b, c), { ops, audit });
    rolegate = started.rolegate;
    config = loadConfig(started.configFile);
    const Client = loadAuthorizationClient();
    client = new Client(`127.0.0.1:${rolegate.grpcPort}`, grpc.credentials.createInsecure());
  }, 20_000);

  afterAll(async () => {
    client.close();
    await rolegate.stop();
    await Promise.all(issuers.map((i) => i.stop()));
  });

  function simulated(c: Case, token: string): Answer {
    // The very claims the live side verifies: the token's payload.
    const claims = decodeJwt(token);
    const line = {
      claims,
      method: c.method,
      path: c.path,
      host: 'api.example.com',
      headers: c.headers,
      ...(c.sourceIp === undefined ? {} : { sourceIp: c.sourceIp }),
      contextExtensions: c.contextExtensions,
      secure: c.secure,
    };
    let out: Record<string, unknown>;
    try {
      out = simulateLine(line, config, Date.now()) as Record<string, unknown>;
    } catch (err) {
      const reason = err instanceof RolegateError ? err.code : 'ERR_INTERNAL';
      return { decision: 'Deny', status: 401, reason, determining: [] };
    }
    return comparable(out);
  }

  /** The same case through `simulate --config --token`: the token verified, then the live pipeline. */
  async function simulatedWithToken(c: Case, token: string): Promise<Answer> {
    const out = await simulateToken(
      token,
      {
        method: c.method,
        path: c.path,
        host: 'api.example.com',
        headers: c.headers,
        ...(c.sourceIp === undefined ? {} : { sourceIp: c.sourceIp }),
        contextExtensions: c.contextExtensions,
        secure: c.secure,
      },
      config,
    );
    return comparable(out as Record<string, unknown>);
  }

  function comparable(out: Record<string, unknown>): Answer {
    const role = typeof out['role'] === 'string' ? out['role'] : undefined;
    return {
      decision: String(out['decision']),
      status: Number(out['status']),
      reason: String(out['reason']),
      ...(role === undefined
        ? {}
        : { role: config.roles.find((r) => r.name === role)?.arn ?? `?${role}` }),
      ...(typeof out['action'] === 'string' ? { action: out['action'] } : {}),
      ...(typeof out['resource'] === 'string' ? { resource: out['resource'] } : {}),
      determining: (out['determining'] as Determining[]).map(formatDetermining),
    };
  }

  async function live(c: Case, token: string): Promise<Answer> {
    const request = {
      attributes: {
        source: {
          address: { socket_address: { address: c.sourceIp ?? '', port_value: 40000 } },
        },
        request: {
          http: {
            id: 'stream-1',
            scheme: c.secure ? 'https' : 'http',
            method: c.method,
            path: c.path,
            host: 'api.example.com',
            headers: { ...c.headers, authorization: `Bearer ${token}` },
          },
        },
        context_extensions: c.contextExtensions,
      },
    };
    const res = await new Promise<Record<string, unknown>>((resolve, reject) =>
      client.Check(request, (err, r) =>
        err ? reject(err) : resolve(r as unknown as Record<string, unknown>),
      ),
    );
    const meta = res['dynamic_metadata'] as { fields: Record<string, { stringValue: string }> };
    const id = meta.fields['decision_id']?.stringValue;
    const record = audit.auditFor(id);
    if (record === undefined) throw new Error(`no audit record for decision ${String(id)}`);
    const denied = res['denied_response'] as { status: { code: string } } | null;
    const STATUS: Record<string, number> = { BadRequest: 400, Unauthorized: 401, Forbidden: 403 };
    return {
      decision: record['decision'] === 'allow' ? 'Allow' : 'Deny',
      status: denied ? (STATUS[denied.status.code] ?? 0) : 200,
      reason: String(record['reason']),
      ...(typeof record['role'] === 'string' ? { role: record['role'] } : {}),
      ...(typeof record['action'] === 'string' ? { action: record['action'] } : {}),
      ...(typeof record['resource'] === 'string' ? { resource: record['resource'] } : {}),
      determining: record['determining'] as string[],
    };
  }

  it(`agrees on every one of ${CORPUS_SIZE} generated requests`, async () => {
    const corpus = generate(CORPUS_SIZE, SEED);
    const mismatches: {
      index: number;
      mode: 'claims' | 'token';
      case: Case;
      simulated: Answer;
      live: Answer;
    }[] = [];
    const reasons = new Map<string, number>();
    for (const [index, c] of corpus.entries()) {
      const signer = issuers[c.issuer] as JwksIssuer;
      const token = await signer.mint(c.claims, { audience: null });
      const got = await live(c, token);
      reasons.set(got.reason, (reasons.get(got.reason) ?? 0) + 1);
      const byClaims = simulated(c, token);
      if (JSON.stringify(byClaims) !== JSON.stringify(got)) {
        mismatches.push({ index, mode: 'claims', case: c, simulated: byClaims, live: got });
      }
      const byToken = await simulatedWithToken(c, token);
      if (JSON.stringify(byToken) !== JSON.stringify(got)) {
        mismatches.push({ index, mode: 'token', case: c, simulated: byToken, live: got });
      }
    }
    if (mismatches.length > 0) {
      const kinds = new Map<string, number>();
      for (const m of mismatches) {
        const kind = `${m.mode}: simulate ${m.simulated.reason} / live ${m.live.reason}`;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      process.stderr.write(
        `parity: ${mismatches.length} of ${corpus.length} cases differ: ${JSON.stringify([
          ...kinds,
        ])}\n`,
      );
    }
    // The corpus reaches the interesting outcomes, not only one kind of deny.
    for (const reason of ['OK', 'ERR_NO_ROLE', 'ERR_EXPLICIT_DENY', 'ERR_IMPLICIT_DENY']) {
      expect(reasons.get(reason) ?? 0).toBeGreaterThan(5);
    }
    for (const reason of [
      'ERR_PATH_TRAVERSAL',
      'ERR_PATH_INVALID',
      'ERR_ROUTE_UNMATCHED',
      'ERR_TOKEN_ISSUER_UNKNOWN',
      'ERR_TOKEN_CLAIM',
    ]) {
      expect(reasons.get(reason) ?? 0).toBeGreaterThan(0);
    }
    expect(mismatches).toEqual([]);
  }, 30_000);
});
