/**
 * The Rego policy OPA-Envoy runs in the peer benchmark, generated from the
 * same bench config rolegate runs (bench/lib/bench-config.ts), so both give
 * the same decisions (bench/peers/parity.ts checks it on sample requests):
 *
 * - token: `Authorization: Bearer`, ES256 signature against the same JWKS,
 *   `iss` and `aud` checked, `exp` against the clock (`io.jwt.decode_verify`);
 *   no valid token is a 401;
 * - route: the same route table (method + path template) to action and
 *   resource; no route is a 403;
 * - roles in configuration order, the first that allows wins: trust policy
 *   (federated issuer, claim conditions), then the role's policies, its
 *   permissions boundary and the guardrails must each allow, and no explicit
 *   Deny anywhere; an `x-rolegate-role` header limits the choice to one role;
 * - allow: the same identity headers (principal, role ARN, decision id and the
 *   configured claim headers), inbound copies removed.
 *
 * The generator translates statement by statement into plain Rego rules with
 * the constants inlined (what a hand-written policy would do), and throws on
 * any construct it does not translate rather than guessing: it covers the
 * bench config, not IAM in general.
 */

/** The bench config shape this generator reads (see benchConfig()). */
interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Principal?: { readonly Federated?: string };
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}
interface PolicyDoc {
  readonly Statement: readonly Statement[];
}
interface BenchRole {
  readonly name: string;
  readonly trustPolicy: PolicyDoc;
  readonly policies: Readonly<Record<string, PolicyDoc>>;
  readonly permissionsBoundary?: PolicyDoc;
}
interface BenchRoute {
  readonly method: string;
  readonly path: string;
  readonly action: string;
  readonly resource: string;
}
interface BenchConfigShape {
  readonly issuers: readonly { readonly issuer: string; readonly audiences: readonly string[] }[];
  readonly headers?: { readonly claims?: Readonly<Record<string, string>> };
  readonly guardrails?: { readonly baseline?: PolicyDoc };
  readonly roles: readonly BenchRole[];
  readonly routes: readonly BenchRoute[];
}

/** The package and rule OPA-Envoy is pointed at (`path` in its config). */
export const REGO_DECISION_PATH = 'rolegate/bench/result';

/** The identity headers rolegate sets on an allow (src/response/upstream-headers.ts). */
const PRINCIPAL_HEADER = 'x-rolegate-principal';
const ROLE_HEADER = 'x-rolegate-role';
const DECISION_ID_HEADER = 'x-rolegate-decision-id';
const REQUESTED_ROLE_HEADER = 'x-rolegate-role';
/** Stripped from allowed requests by rolegate's default `headers.stripInbound`. */
const STRIP_INBOUND = ['x-http-method-override', 'x-http-method', 'x-method-override'];

const q = (s: string): string => JSON.stringify(s);
const list = (x: string | readonly string[] | undefined): readonly string[] =>
  x === undefined ? [] : typeof x === 'string' ? [x] : x;

/** Rego source for `config` (a benchConfig() object), verifying tokens against `jwks`. */
export function regoFromBenchConfig(config: object, jwks: string): string {
  const c = config as BenchConfigShape;
  const issuerCfg = c.issuers[0];
  if (issuerCfg === undefined || c.issuers.length !== 1) throw new Error('rego: one issuer only');
  const issuer = issuerCfg.issuer;
  const prefix = issuer.replace(/^https?:\/\//, '');
  const out: string[] = [];
  const emit = (...lines: string[]) => out.push(...lines);
  let helper = 0;

  /** A Rego expression for a condition key's value (undefined in Rego if absent). */
  const keyExpr = (key: string): string => {
    if (key === 'aws:SourceIp') return 'source_ip';
    const claim = key.startsWith('jwt:')
      ? key.slice(4)
      : key.startsWith(`${prefix}:`)
        ? key.slice(prefix.length + 1)
        : undefined;
    if (claim === undefined || !/^[a-z_][a-z0-9_]*$/i.test(claim)) {
      throw new Error(`rego: condition key ${key} not translated`);
    }
    return `claims[${q(claim)}]`;
  };

  /** Rego body lines for one condition block; may emit helper rules. */
  const conditionLines = (cond: Statement['Condition']): string[] => {
    const lines: string[] = [];
    for (const [op, entries] of Object.entries(cond ?? {})) {
      for (const [key, raw] of Object.entries(entries)) {
        const values = (Array.isArray(raw) ? (raw as unknown[]) : [raw]).map(String);
        const k = keyExpr(key);
        switch (op) {
          case 'StringEquals':
          case 'ForAnyValue:StringEquals':
            {
              const v = `v${helper++}`;
              lines.push(`some ${v} in values(${k})`, `${v} in {${values.map(q).join(', ')}}`);
            }
            break;
          case 'NotIpAddress':
            lines.push(`not ip_in(${k}, [${values.map(q).join(', ')}])`);
            break;
          case 'NumericLessThanIfExists': {
            const name = `cond_${helper++}`;
            const [limit] = values;
            if (values.length !== 1 || limit === undefined) throw new Error('rego: one number');
            emit(`${name} if not ${k}`, `${name} if to_number(${k}) < ${Number(limit)}`, '');
            lines.push(name);
            break;
          }
          default:
            throw new Error(`rego: condition operator ${op} not translated`);
        }
      }
    }
    return lines;
  };

  /** Rego for "the request's action matches one of these patterns". */
  const actionLine = (actions: readonly string[]): string => {
    const exact = actions.filter((a) => !/[*?]/.test(a)).map((a) => q(a.toLowerCase()));
    const globs = actions.filter((a) => /[*?]/.test(a)).map((a) => q(a.toLowerCase()));
    if (globs.length === 0) return `action_lc in {${exact.join(', ')}}`;
    const all = [...globs.map((g) => `glob.match(${g}, null, action_lc)`)];
    if (exact.length) all.push(`action_lc in {${exact.join(', ')}}`);
    return all.length === 1 ? (all[0] as string) : `any_true([${all.join(', ')}])`;
  };

  /** Rego for "the resource matches", with `${jwt:claim}` policy variables. */
  const resourceLine = (resources: readonly string[]): string => {
    const one = (r: string): string => {
      if (r === '*') return 'true';
      const parts = r.split(/(\$\{[^}]+\})/).filter((p) => p !== '');
      const pieces = parts.map((p) => {
        const m = /^\$\{(.+)\}$/.exec(p);
        return m?.[1] === undefined ? q(p) : `glob.quote_meta(${keyExpr(m[1])})`;
      });
      const pattern =
        pieces.length === 1 ? (pieces[0] as string) : `concat("", [${pieces.join(', ')}])`;
      return /[*?]/.test(r)
        ? `glob.match(${pattern}, null, route.resource)`
        : `route.resource == ${pattern}`;
    };
    const all = resources.map(one);
    if (all.includes('true')) return 'true';
    return all.length === 1 ? (all[0] as string) : `any_true([${all.join(', ')}])`;
  };

  const statementBody = (s: Statement): string[] => {
    const lines = [actionLine(list(s.Action)), resourceLine(list(s.Resource))];
    lines.push(...conditionLines(s.Condition));
    return lines.filter((l) => l !== 'true');
  };

  const rule = (head: string, body: readonly string[]) => {
    emit(`${head} if {`, ...(body.length ? body : ['true']).map((l) => `\t${l}`), '}', '');
  };

  emit(
    '# Generated by bench/peers/rego.ts from bench/lib/bench-config.ts: the same',
    '# decisions as rolegate with that config (checked by bench/peers/parity.ts).',
    'package rolegate.bench',
    '',
    'import rego.v1',
    '',
    `jwks := ${q(jwks)}`,
    '',
    'http_request := input.attributes.request.http',
    '',
    'token := t if {',
    '\tv := http_request.headers.authorization',
    '\tstartswith(v, "Bearer ")',
    '\tt := substring(v, 7, -1)',
    '}',
    '',
    'claims := c if {',
    `\t[valid, _, c] := io.jwt.decode_verify(token, {"cert": jwks, "iss": ${q(issuer)}, "aud": ${q(issuerCfg.audiences[0] ?? '')}})`,
    '\tvalid',
    '}',
    '',
    'source_ip := input.attributes.source.address.socketAddress.address',
    '',
    'action_lc := lower(route.action)',
    '',
    'values(x) := x if is_array(x)',
    '',
    'values(x) := [x] if not is_array(x)',
    '',
    'ip_in(ip, cidrs) if {',
    '\tsome c in cidrs',
    '\tnet.cidr_contains(c, ip)',
    '}',
    '',
    'any_true(xs) if true in xs',
    '',
  );

  // Routes: method and path template ({name} = one segment). Equalities on
  // `input` refs with constants, so OPA's rule index picks the candidate rules.
  for (const r of c.routes) {
    const segs = r.path.split('/').filter((s) => s !== '');
    const body = [
      `input.attributes.request.http.method == ${q(r.method)}`,
      `count(input.parsed_path) == ${segs.length}`,
    ];
    const vars = new Map<string, string>();
    segs.forEach((s, i) => {
      const m = /^\{([a-z_][a-z0-9_]*)\}$/i.exec(s);
      if (m?.[1] !== undefined) vars.set(m[1], `input.parsed_path[${i}]`);
      else body.push(`input.parsed_path[${i}] == ${q(s)}`);
    });
    const res = r.resource.split(/(\{[^}]+\})/).filter((p) => p !== '');
    const resExpr = res.map((p) => {
      const m = /^\{(.+)\}$/.exec(p);
      if (m?.[1] === undefined) return q(p);
      const v = vars.get(m[1]);
      if (v === undefined) throw new Error(`rego: route variable ${p} not in path`);
      return v;
    });
    const resource = resExpr.length === 1 ? resExpr[0] : `concat("", [${resExpr.join(', ')}])`;
    rule(`route := {"action": ${q(r.action)}, "resource": ${resource}}`, body);
  }

  // Guardrails: Allow statements (one must match), Deny statements (none may).
  const guard = c.guardrails?.baseline?.Statement ?? [];
  for (const s of guard.filter((s) => s.Effect === 'Allow'))
    rule('guardrails_allow', statementBody(s));
  for (const s of guard.filter((s) => s.Effect === 'Deny')) rule('explicit_deny', statementBody(s));
  if (!guard.some((s) => s.Effect === 'Allow')) rule('guardrails_allow', []);

  const chain: string[] = [];
  c.roles.forEach((role, i) => {
    const arn = `arn:rolegate:iam:::role/${role.name}`;
    // Trust: statements for this issuer's federated principal and the web-identity action.
    const trust = role.trustPolicy.Statement.filter(
      (s) =>
        s.Principal?.Federated === issuer &&
        list(s.Action).includes('sts:AssumeRoleWithWebIdentity'),
    );
    if (trust.some((s) => s.Effect === 'Deny')) throw new Error('rego: trust Deny not translated');
    for (const s of trust) rule(`trust_${i}`, conditionLines(s.Condition));
    const identity = Object.values(role.policies).flatMap((p) => p.Statement);
    for (const s of identity.filter((s) => s.Effect === 'Allow'))
      rule(`allow_${i}`, statementBody(s));
    const boundary = role.permissionsBoundary?.Statement;
    if (boundary === undefined) rule(`boundary_${i}`, []);
    for (const s of (boundary ?? []).filter((s) => s.Effect === 'Allow'))
      rule(`boundary_${i}`, statementBody(s));
    for (const s of [...identity, ...(boundary ?? [])].filter((s) => s.Effect === 'Deny')) {
      rule(`deny_${i}`, statementBody(s));
    }
    rule(`considered_${i}`, [`not http_request.headers[${q(REQUESTED_ROLE_HEADER)}]`]);
    rule(`considered_${i}`, [
      `http_request.headers[${q(REQUESTED_ROLE_HEADER)}] in {${q(role.name)}, ${q(arn)}}`,
    ]);
    const body = [
      `considered_${i}`,
      `trust_${i}`,
      `allow_${i}`,
      `boundary_${i}`,
      'guardrails_allow',
      'not explicit_deny',
      `not deny_${i}`,
    ];
    chain.push(
      `${i === 0 ? 'role_arn :=' : '} else :='} ${q(arn)} if {`,
      ...body.map((l) => `\t${l}`),
    );
  });
  // The first role (configuration order) that allows is the one named upstream.
  emit(...chain, '}', '');

  // Response: the same identity headers as rolegate, inbound copies removed.
  const claimHeaders = Object.entries(c.headers?.claims ?? {});
  const headerPairs = [
    `${q(PRINCIPAL_HEADER)}: claims.sub`,
    `${q(ROLE_HEADER)}: role_arn`,
    `${q(DECISION_ID_HEADER)}: uuid.rfc4122(sprintf("%s-%d", [http_request.id, time.now_ns()]))`,
  ];
  const optional: string[] = [];
  for (const [header, claim] of claimHeaders) {
    if (!/^[a-z_][a-z0-9_]*$/i.test(claim))
      throw new Error(`rego: claim path ${claim} not translated`);
    optional.push(
      `claim_headers[${q(header)}] := sprintf("%v", [claims[${q(claim)}]]) if claims[${q(claim)}]`,
    );
  }
  emit(...optional.flatMap((l) => [l, '']));
  if (optional.length === 0) emit('claim_headers := {}', '');
  const remove = [
    PRINCIPAL_HEADER,
    ROLE_HEADER,
    DECISION_ID_HEADER,
    ...claimHeaders.map(([h]) => h),
    ...STRIP_INBOUND,
  ];
  emit(
    'deny(status) := {"allowed": false, "http_status": status, "body": "denied", "headers": {"content-type": "text/plain"}}',
    '',
    'result := deny(401) if {',
    '\tnot claims',
    '} else := deny(403) if {',
    '\tnot route',
    '} else := deny(403) if {',
    '\tnot role_arn',
    '} else := {',
    '\t"allowed": true,',
    `\t"headers": object.union({${headerPairs.join(', ')}}, claim_headers),`,
    `\t"request_headers_to_remove": [${remove.map(q).join(', ')}],`,
    '}',
    '',
  );
  return out.join('\n');
}
