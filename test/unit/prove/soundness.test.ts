/**
 * Soundness of `rolegate diff` on a bounded space: random configuration
 * pairs (seeded; one mutation of a statement, a condition, a trust policy, a
 * role or a route) are diffed, and the diff is compared with brute-force
 * enumeration of a finite request space that holds every constant the
 * generator can write. Every request the enumeration finds newly allowed
 * must fall in a reported class (same route, method and allowing role), and
 * every finding's witness must reproduce under both configurations.
 */
import { describe, expect, it } from '@jest/globals';
import { proveConfigOf, simulateDecider } from '../../../src/cli/diff.js';
import { loadConfig } from '../../../src/config/load.js';
import type { Witness } from '../../../src/prove/cells.js';
import { diffConfigs, routeText, type Decider } from '../../../src/prove/diff.js';
import type { ProveConfig } from '../../../src/prove/space.js';
import { matchRoute } from '../../../src/route/table.js';
import { webIdentityTrust } from '../../support/fixtures.js';
import { seededRandom } from '../../support/random.js';

const ISSUER = 'http://127.0.0.1:9100';
const NOW = Date.parse('2026-06-01T00:00:00Z');
const PAIRS = 500;

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;

/** The context features a pair may use; the brute-force space varies exactly these. */
type Feature = 'env' | 'ip' | 'tls' | 'role';
const FEATURES: readonly Feature[] = ['env', 'ip', 'tls', 'role'];

const ACTIONS = [
  'orders:GetOrder',
  'orders:ListOrders',
  'orders:CreateOrder',
  'orders:DeleteOrder',
  'orders:*',
  'orders:Get*',
];
const RESOURCES = [
  'arn:rolegate:orders:::order/*',
  'arn:rolegate:orders:::order/1*',
  'arn:rolegate:orders:::order/1',
  '*',
];

function condition(r: Rand, features: readonly Feature[]): Record<string, unknown> | undefined {
  const options: Record<string, unknown>[] = [
    { 'ForAnyValue:StringEquals': { 'jwt:groups': pick(r, ['readers', 'admins', 'eng']) } },
    { 'ForAllValues:StringEquals': { 'jwt:groups': ['readers', 'eng'] } },
    // A list of empty strings is a null data set: false for ForAnyValue, unlike ["zz"]
    // (IAM User Guide, "Multivalued context keys"; docs/policy-language.md).
    { 'ForAnyValue:StringNotEquals': { 'jwt:groups': 'readers' } },
    { StringEquals: { 'jwt:sub': 'alice' } },
    { StringLike: { 'jwt:sub': 'a*' } },
  ];
  if (features.includes('env')) {
    options.push(
      { StringEquals: { 'http:header/x-env': 'prod' } },
      { StringLike: { 'http:header/x-env': 'pr*' } },
      { StringNotEqualsIfExists: { 'http:header/x-env': '${jwt:sub}' } },
      { Null: { 'http:header/x-env': 'true' } },
    );
  }
  if (features.includes('ip')) {
    options.push(
      { IpAddress: { 'aws:SourceIp': pick(r, ['10.0.0.0/8', '10.0.0.0/24']) } },
      { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/24' } },
    );
  }
  if (features.includes('tls'))
    options.push({ Bool: { 'aws:SecureTransport': pick(r, ['true', 'false']) } });
  return r() < 0.35 ? undefined : pick(r, options);
}

function statement(r: Rand, features: readonly Feature[]): Record<string, unknown> {
  const c = condition(r, features);
  return {
    Effect: r() < 0.2 ? 'Deny' : 'Allow',
    Action: r() < 0.5 ? pick(r, ACTIONS) : [pick(r, ACTIONS), pick(r, ACTIONS)],
    Resource: pick(r, RESOURCES),
    ...(c === undefined ? {} : { Condition: c }),
  };
}

function trust(r: Rand, features: readonly Feature[]): Record<string, unknown> {
  const conditions = [
    undefined,
    { 'ForAnyValue:StringEquals': { 'jwt:groups': pick(r, ['readers', 'admins']) } },
    { StringEquals: { 'jwt:sub': pick(r, ['alice', 'bob']) } },
    { StringLike: { 'jwt:sub': 'a*' } },
    ...(features.includes('ip') ? [{ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }] : []),
  ];
  const c = pick(r, conditions);
  return webIdentityTrust(ISSUER, c);
}

interface Role {
  name: string;
  trustPolicy: Record<string, unknown>;
  policies: Record<string, { Version: string; Statement: Record<string, unknown>[] }>;
}

interface Generated {
  roles: Role[];
  guardrails: Record<string, unknown>;
  routes: Record<string, string>[];
}

const ROUTES: Record<string, string>[] = [
  {
    method: 'GET',
    path: '/orders',
    action: 'orders:ListOrders',
    resource: 'arn:rolegate:orders:::order/*',
  },
  {
    method: 'GET',
    path: '/orders/{id}',
    action: 'orders:GetOrder',
    resource: 'arn:rolegate:orders:::order/{id}',
  },
  {
    method: 'POST',
    path: '/orders',
    action: 'orders:CreateOrder',
    resource: 'arn:rolegate:orders:::order/*',
  },
  {
    method: 'DELETE',
    path: '/orders/{id}',
    action: 'orders:DeleteOrder',
    resource: 'arn:rolegate:orders:::order/{id}',
  },
  {
    method: 'GET',
    path: '/orders/1',
    action: 'orders:GetOrder',
    resource: 'arn:rolegate:orders:::order/special',
  },
];

function role(r: Rand, i: number, features: readonly Feature[]): Role {
  const n = 1 + Math.floor(r() * 2);
  return {
    name: `r${i}`,
    trustPolicy: trust(r, features),
    policies: {
      p: {
        Version: '2012-10-17',
        Statement: Array.from({ length: n }, () => statement(r, features)),
      },
    },
  };
}

function generate(r: Rand, features: readonly Feature[]): Generated {
  const roles = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, i) => role(r, i, features));
  const guard =
    r() < 0.5
      ? {}
      : {
          g: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'orders:*', Resource: '*' }],
          },
        };
  const routes = ROUTES.filter(() => r() < 0.8);
  return { roles, guardrails: guard, routes };
}

/** One mutation: of a statement, a condition, a trust policy, a role, a route or the guardrails. */
function mutate(r: Rand, g: Generated, features: readonly Feature[]): Generated {
  const m = structuredClone(g);
  const target = pick(r, m.roles);
  const stmts = target.policies['p']?.Statement ?? [];
  const kind = Math.floor(r() * 8);
  const i = Math.floor(r() * stmts.length);
  const s = stmts[i];
  if (kind === 0 && s) s['Effect'] = s['Effect'] === 'Allow' ? 'Deny' : 'Allow';
  else if (kind === 1 && s) s['Action'] = pick(r, ACTIONS);
  else if (kind === 2 && s) s['Resource'] = pick(r, RESOURCES);
  else if (kind === 3 && s) {
    const c = condition(r, features);
    if (c === undefined) delete s['Condition'];
    else s['Condition'] = c;
  } else if (kind === 4) target.trustPolicy = trust(r, features);
  else if (kind === 5) stmts.push(statement(r, features));
  else if (kind === 6) {
    if (r() < 0.5 && m.routes.length > 0) m.routes.splice(Math.floor(r() * m.routes.length), 1);
    else m.routes.push(pick(r, ROUTES));
  } else if (r() < 0.5) m.roles.push(role(r, m.roles.length, features));
  else
    m.guardrails =
      Object.keys(m.guardrails).length === 0
        ? {
            g: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'orders:Get*', Resource: '*' }],
            },
          }
        : {};
  return m;
}

function load(g: Generated, name: string): ProveConfig & { loaded: ReturnType<typeof loadConfig> } {
  const text = JSON.stringify({
    issuers: [{ issuer: ISSUER, audiences: ['aud1'], jwksUri: `${ISSUER}/jwks` }],
    roles: g.roles,
    guardrails: g.guardrails,
    routes: g.routes,
  });
  const loaded = loadConfig({ file: `${name}.json`, text });
  return { ...proveConfigOf(loaded, name), loaded };
}

const GROUPS: readonly (string[] | undefined)[] = [
  undefined,
  ['readers'],
  ['admins'],
  ['readers', 'eng'],
  ['zz'],
  [''],
];
const VALUES: Record<Feature, readonly (string | boolean | undefined)[]> = {
  env: [undefined, 'prod', 'pre', 'alice', 'dev'],
  ip: [undefined, '10.0.0.5', '10.1.0.1', '192.168.0.1'],
  tls: [false, true],
  role: [undefined, 'r0', 'r1'],
};

/** Every request of the bounded space for `features`. */
function* bruteRequests(features: readonly Feature[], subs: readonly string[]): Generator<Witness> {
  const axes = FEATURES.map((f) => (features.includes(f) ? VALUES[f] : [VALUES[f][0]]));
  for (const sub of subs) {
    for (const groups of GROUPS) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        for (const path of ['/orders', '/orders/1', '/orders/12', '/orders/2']) {
          for (const env of axes[0] ?? []) {
            for (const ip of axes[1] ?? []) {
              for (const tls of axes[2] ?? []) {
                for (const roleHeader of axes[3] ?? []) {
                  const headers: Record<string, string> = {};
                  if (typeof env === 'string') headers['x-env'] = env;
                  if (typeof roleHeader === 'string') headers['x-rolegate-role'] = roleHeader;
                  yield {
                    claims: {
                      iss: ISSUER,
                      sub,
                      aud: 'aud1',
                      ...(groups === undefined ? {} : { groups }),
                    },
                    method,
                    path,
                    host: 'localhost',
                    headers,
                    ...(typeof ip === 'string' ? { sourceIp: ip } : {}),
                    secure: tls === true,
                    time: new Date(NOW).toISOString(),
                  };
                }
              }
            }
          }
        }
      }
    }
  }
}

function checkPair(seed: number): { requests: number; findings: number; newlyAllowed: number } {
  const r = seededRandom(seed);
  // At most two context features per pair keeps the brute-force space small; the pairs together use all.
  const features = FEATURES.filter(() => r() < 0.5).slice(0, 2);
  const oldG = generate(r, features);
  const newG = mutate(r, oldG, features);
  const a = load(oldG, 'old');
  const b = load(newG, 'new');
  const decide: Decider = simulateDecider(
    new Map([
      [a, a.loaded],
      [b, b.loaded],
    ]),
  );
  const result = diffConfigs(a, b, decide, { nowMs: NOW });
  // Pruning only skips cells no changed role decides: every class keeps all its callers.
  const summary = (r: typeof result): string[] =>
    r.findings.map((f) => `${f.change} ${f.route} ${f.role} ${f.callers}`).sort();
  if (seed % 4 === 0) {
    expect(summary(result)).toEqual(
      summary(diffConfigs(a, b, decide, { nowMs: NOW, prune: false })),
    );
  }
  const classes = new Set(
    result.findings.filter((f) => f.change === 'new-access').map((f) => `${f.route}|${f.role}`),
  );
  for (const f of result.findings) {
    expect(decide(a, f.witness).allowed).toBe(f.change === 'removed-access');
    expect(decide(b, f.witness).allowed).toBe(f.change === 'new-access');
  }
  let requests = 0;
  let newlyAllowed = 0;
  // A subject with a "/" is refused where ${jwt:sub} is substituted (ERR_CLAIM_VARIABLE_UNSAFE):
  // when only one configuration substitutes it, such a caller may be newly allowed.
  const substitutes = JSON.stringify([oldG, newG]).includes('${jwt:sub}');
  const subs = substitutes ? ['alice', 'bob', 'b/b'] : ['alice', 'bob'];
  for (const w of bruteRequests(features, subs)) {
    requests++;
    // A request no route of the new configuration matches is denied there (unmatchedRoutes: deny).
    if (matchRoute(b.compiled.routes, w.method, w.path) === undefined) continue;
    const n = decide(b, w);
    if (!n.allowed || decide(a, w).allowed) continue;
    newlyAllowed++;
    const key = `${routeText(b, n.route, w.method)}|${n.role ?? ''}`;
    if (!classes.has(key))
      throw new Error(`seed ${seed}: newly allowed ${JSON.stringify(w)} (${key}) is in no finding`);
  }
  return { requests, findings: result.findings.length, newlyAllowed };
}

describe('rolegate diff soundness on a bounded space', () => {
  it(`covers every newly allowed request of ${PAIRS} random config pairs, with witnesses that reproduce`, () => {
    let requests = 0;
    let findings = 0;
    let newlyAllowed = 0;
    for (let seed = 1; seed <= PAIRS; seed++) {
      const one = checkPair(seed);
      requests += one.requests;
      findings += one.findings;
      newlyAllowed += one.newlyAllowed;
    }
    console.log(
      `diff soundness: ${PAIRS} config pairs, ${requests} brute-force requests checked, ${newlyAllowed} newly allowed, ${findings} findings`,
    );
    expect(newlyAllowed).toBeGreaterThan(0);
  });
});
