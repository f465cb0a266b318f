// The Rego generator of the peer benchmark (bench/peers/rego.ts): what it
// emits for the bench config, and that it refuses what it cannot translate.
// Decision parity with rolegate is checked against a real OPA-Envoy by
// `npm run bench:peers` itself.
import { describe, expect, it } from '@jest/globals';

import { benchConfig } from '../../../bench/lib/bench-config.js';
import { regoFromBenchConfig } from '../../../bench/peers/rego.js';

const ISSUER = 'http://127.0.0.1:4000';
const JWKS = '{"keys":[]}';

describe('regoFromBenchConfig', () => {
  const config = benchConfig(ISSUER, 10) as { routes: unknown[]; roles: { name: string }[] };
  const rego = regoFromBenchConfig(config, JWKS);

  it('emits one route rule per configured route, with path variables in the resource', () => {
    expect(rego.match(/^route := /gm)).toHaveLength(config.routes.length);
    expect(rego).toContain(
      'route := {"action": "inventory:GetItem", "resource": concat("", ["arn:rolegate:inventory:::item/", input.parsed_path[1]])} if {',
    );
  });

  it('chooses roles in configuration order, each gated by its trust policy', () => {
    const order = [
      ...rego.matchAll(/(?:role_arn|else) := "arn:rolegate:iam:::role\/([^"]+)"/g),
    ].map((m) => m[1]);
    expect(order).toEqual(config.roles.map((r) => r.name));
    expect(rego).toContain('v1 in {"orders-team", "admins"}');
  });

  it('verifies the token with the configured issuer, audience and keys', () => {
    expect(rego).toContain(
      `io.jwt.decode_verify(token, {"cert": jwks, "iss": "${ISSUER}", "aud": "bench-api"})`,
    );
    expect(rego).toContain(`jwks := ${JSON.stringify(JWKS)}`);
  });

  it('refuses a condition operator it does not translate', () => {
    const c = structuredClone(benchConfig(ISSUER, 10)) as {
      roles: { policies: Record<string, { Statement: { Condition?: object }[] }> }[];
    };
    const stmt = Object.values(c.roles[0]?.policies ?? {})[0]?.Statement[0];
    if (stmt === undefined) throw new Error('bench config changed shape');
    stmt.Condition = { StringLike: { 'jwt:sub': 'a*' } };
    expect(() => regoFromBenchConfig(c, JWKS)).toThrow(/StringLike not translated/);
  });

  it('refuses more than one issuer', () => {
    const c = {
      ...config,
      issuers: [
        { issuer: 'a', audiences: [] },
        { issuer: 'b', audiences: [] },
      ],
    };
    expect(() => regoFromBenchConfig(c, JWKS)).toThrow(/one issuer/);
  });
});
