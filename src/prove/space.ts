/**
 * The request space of one or two configurations: each dimension with its
 * representative values, built from the constants of every document and
 * route of both. Anything the prover does not cover is refused here, before
 * a single request is decided.
 */
import type { CompiledConfig } from '../generation/compiled-config.js';
import type { IssuerConfig } from '../identity/options.js';
import {
  claimValues,
  keyDim,
  sourceIpValues,
  timeValues,
  variableClaims,
  type ClaimValue,
} from './dims.js';
import {
  inventoryOf,
  type ConditionUse,
  type Inventory,
  type ProveDocument,
  type ResourceUse,
} from './inventory.js';
import { pathReps, type RouteSpec } from './routes.js';
import { ProveUnknown } from './unknown.js';

/** One configuration as the prover reads it. */
export interface ProveConfig {
  /** Names the configuration in findings (its file). */
  readonly label: string;
  readonly compiled: CompiledConfig;
  readonly documents: readonly ProveDocument[];
  readonly routes: readonly RouteSpec[];
  readonly issuers: readonly IssuerConfig[];
  /**
   * Every setting that decides a request besides roles, guardrails and
   * routes (issuers, headers, mTLS, unmatched routes), as canonical JSON:
   * two configurations are compared only when these are equal.
   */
  readonly settings: string;
  /** The header that asks for one role (`headers.requestedRole`). */
  readonly requestedRoleHeader: string;
  readonly unmatchedRoutes: 'deny' | 'default';
  readonly mtls: boolean;
  /** Roles are also loaded from AWS IAM (`aws.iam`): their documents are not in the file. */
  readonly iamRoles: boolean;
}

/** A claim dimension and its values. */
export interface ClaimDim {
  readonly claim: string;
  readonly values: readonly ClaimValue[];
}

/** A header dimension: its conditions (values depend on the cell's claims when they hold variables). */
export interface HeaderDim {
  readonly name: string;
  readonly uses: readonly ConditionUse[];
  readonly extra: readonly string[];
}

/** The whole space. */
export interface Space {
  readonly issuers: readonly IssuerConfig[];
  readonly claims: readonly ClaimDim[];
  readonly headers: readonly HeaderDim[];
  readonly hostUses: readonly ConditionUse[];
  readonly sourceIps: readonly (string | undefined)[];
  readonly secure: readonly boolean[];
  readonly times: readonly number[];
  readonly methods: readonly string[];
  readonly paths: readonly string[];
}

/** Configuration-wide settings outside the fragment: the setting, its JSON path and why. */
const REFUSED: readonly {
  readonly when: (c: ProveConfig) => boolean;
  readonly path: string;
  readonly what: string;
}[] = [
  {
    when: (c) => c.unmatchedRoutes !== 'deny',
    path: '$.unmatchedRoutes',
    what: 'unmatchedRoutes: default (only deny is covered)',
  },
  {
    when: (c) => c.iamRoles,
    path: '$.aws.iam',
    what: 'aws.iam: roles loaded from AWS IAM are not covered',
  },
  {
    when: (c) => c.mtls,
    path: '$.mtls',
    what: 'mtls.enabled: mTLS peer identities are not covered',
  },
];

/** Checks the configuration-wide settings the prover needs. */
function checkConfig(config: ProveConfig): void {
  const refused = REFUSED.find((r) => r.when(config));
  if (refused !== undefined) {
    throw new ProveUnknown('ERR_DIFF_UNKNOWN', refused.what, {
      file: config.label,
      path: refused.path,
    });
  }
}

function group(inv: Inventory, issuers: readonly IssuerConfig[]): Map<string, ConditionUse[]> {
  const byDim = new Map<string, ConditionUse[]>();
  for (const use of inv.conditions) {
    const dim = keyDim(use.key, issuers);
    if (dim === undefined)
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', `context key ${use.key}`, use.place);
    if (dim.kind === 'fixed') continue;
    const id =
      dim.kind === 'claim'
        ? `claim:${dim.claim}`
        : dim.kind === 'header'
          ? `header:${dim.name}`
          : dim.kind === 'time'
            ? `time:${use.key}`
            : dim.kind;
    const list = byDim.get(id) ?? [];
    list.push(use);
    byDim.set(id, list);
  }
  return byDim;
}

function methodsOf(configs: readonly ProveConfig[], uses: readonly ConditionUse[]): string[] {
  const out = new Set<string>();
  for (const c of configs)
    for (const r of c.routes) if (r.method !== '*') out.add(r.method.toUpperCase());
  for (const u of uses) {
    if (u.op.base.family !== 'string' && u.op.base.family !== 'null') {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `operator ${u.op.written} on http:method`,
        u.place,
      );
    }
    for (const v of u.values)
      if (v.kind === 'text' && /^[A-Z][A-Z0-9_-]*$/.test(v.text)) out.add(v.text);
  }
  // One method no route and no condition names stands for all the others.
  const other =
    ['PATCH', 'PUT', 'POST', 'GET', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE'].find(
      (m) => !out.has(m),
    ) ?? 'OTHERMETHOD';
  return [...out, other];
}

function secureValues(uses: readonly ConditionUse[]): boolean[] {
  if (uses.length === 0) return [false];
  for (const u of uses) {
    if (u.op.base.family !== 'bool' && u.op.base.family !== 'null') {
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `operator ${u.op.written} on aws:SecureTransport`,
        u.place,
      );
    }
    if (u.values.some((v) => v.kind === 'template')) {
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', 'policy variable in a Bool condition', u.place);
    }
  }
  return [false, true];
}

/**
 * The values of the requested-role header that select different roles: each
 * role's name, and its ARN only where the ARN does not select the same role
 * as the name in every configuration (a role renamed or re-ARNed).
 */
function requestedRoleValues(configs: readonly ProveConfig[]): string[] {
  const out = new Set<string>();
  const arnOf = (c: ProveConfig, name: string): string | undefined =>
    c.compiled.roles.find((r) => r.name === name)?.arn;
  for (const c of configs) {
    for (const r of c.compiled.roles) {
      out.add(r.name);
      if (configs.some((o) => arnOf(o, r.name) !== r.arn)) out.add(r.arn);
    }
  }
  return [...out];
}

/** Options of {@link buildSpace}. */
export interface SpaceOptions {
  /** Resource patterns to keep apart besides the policies' (`not-granted --resource`). Default none. */
  readonly resources?: readonly ResourceUse[];
  /** The time used when no condition reads it (epoch ms). */
  readonly nowMs: number;
  /**
   * Values of the requested-role header to keep apart. Default: every
   * role's name (and its ARN where that selects differently). `diff` gives
   * only the changed roles': naming an unchanged role selects the same role
   * in both configurations, so such a request cannot change its decision.
   */
  readonly requestedRoles?: readonly string[];
}

/** Builds the space of `configs` (one or two); throws {@link ProveUnknown} for what it does not cover. */
export function buildSpace(configs: readonly ProveConfig[], options: SpaceOptions): Space {
  const first = configs[0];
  if (first === undefined) throw new TypeError('buildSpace needs a configuration');
  configs.forEach(checkConfig);
  const issuers = first.issuers;
  const own = configs.map((c) => {
    const one: Inventory = { conditions: [], resources: [] };
    for (const d of c.documents) inventoryOf(d, one);
    return one;
  });
  const inv: Inventory = {
    conditions: own.flatMap((o) => o.conditions),
    resources: [...(options.resources ?? []), ...own.flatMap((o) => o.resources)],
  };
  for (const r of inv.resources) {
    // The resource a request maps to would then depend on claims: not covered.
    if (r.text.includes('${'))
      throw new ProveUnknown('ERR_DIFF_UNKNOWN', `policy variable in Resource ${r.text}`, r.place);
  }
  const byDim = group(inv, issuers);
  const get = (id: string): ConditionUse[] => byDim.get(id) ?? [];
  const roleHeader = first.requestedRoleHeader.toLowerCase();
  const roleNames = options.requestedRoles ?? requestedRoleValues(configs);
  return {
    issuers,
    claims: claimDims(own, byDim, issuers),
    headers: [...new Set([...dimNames(byDim, 'header:'), roleHeader])].map((name) => ({
      name,
      uses: get(`header:${name}`),
      extra: name === roleHeader ? [...new Set(roleNames)] : [],
    })),
    hostUses: get('host'),
    sourceIps: sourceIpValues(get('sourceip')),
    secure: secureValues(get('secure')),
    times: timeValues(get('time:aws:currenttime'), get('time:aws:epochtime'), options.nowMs),
    methods: methodsOf(configs, get('method')),
    paths: pathReps({
      routes: configs.flatMap((c) => c.routes),
      resources: inv.resources,
      pathConditions: get('path'),
    }),
  };
}

/** The names of the dimensions whose id starts with `prefix` (`claim:`, `header:`). */
function dimNames(byDim: ReadonlyMap<string, unknown>, prefix: string): string[] {
  return [...byDim.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/**
 * The claim dimensions: `sub`, every claim a condition reads or a policy
 * substitutes, those substituted first (header values depend on them).
 */
function claimDims(
  own: readonly Inventory[],
  byDim: ReadonlyMap<string, ConditionUse[]>,
  issuers: readonly IssuerConfig[],
): ClaimDim[] {
  const variables = variableClaims(
    own.flatMap((o) => o.conditions),
    issuers,
  );
  const perConfig = own.map((o) => variableClaims(o.conditions, issuers));
  const substituted = (claim: string): 'everywhere' | 'somewhere' | 'nowhere' => {
    if (!variables.has(claim)) return 'nowhere';
    return perConfig.every((v) => v.has(claim)) ? 'everywhere' : 'somewhere';
  };
  const names = new Set(['sub', ...variables, ...dimNames(byDim, 'claim:')]);
  for (const issuer of issuers) {
    for (const name of Object.keys(issuer.requiredClaims)) {
      if (!names.has(name.toLowerCase())) continue;
      throw new ProveUnknown(
        'ERR_DIFF_UNKNOWN',
        `claim ${name} is both required by issuer ${issuer.issuer} and read by a policy`,
      );
    }
  }
  const ordered = [...names].sort((a, b) => Number(variables.has(b)) - Number(variables.has(a)));
  return ordered.map((claim) => ({
    claim,
    values: claimValues({
      claim,
      uses: byDim.get(`claim:${claim}`) ?? [],
      variable: substituted(claim),
      issuers,
    }),
  }));
}
