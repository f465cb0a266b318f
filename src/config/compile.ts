/**
 * Turns a validated config plus its policy documents into the compiled
 * form: every policy compiled once, routes compiled, each role's layers
 * (guardrails, role policies, boundary) indexed into one PolicySet.
 */
import { compilePolicy, createPolicySet } from '../policy/index.js';
import type { CompiledPolicy, Diagnostic } from '../policy/types.js';
import { compileRoute } from '../route/table.js';
import type { ResolvedIssuer } from '../identity/jwt.js';
import type { PolicyRef, RolegateConfig } from './schema.js';
import { compileClaimPatterns } from '../identity/variable-claims.js';
import {
  collectVariableKeys,
  type CompiledConfig,
  type CompiledRole,
} from '../generation/compiled-config.js';
import { findingOf, formatFinding, type Finding } from './finding.js';
import type { ConfigSources } from './sources.js';

export { collectVariableKeys } from '../generation/compiled-config.js';
export type { CompiledRole } from '../generation/compiled-config.js';

/**
 * One configuration generation as loaded: what `check`
 * reads ({@link CompiledConfig}) over the whole validated config, plus the
 * warnings as findings for `rolegate validate`.
 */
export interface LoadedConfig extends CompiledConfig<RolegateConfig> {
  /**
   * The same warnings as structured findings (with line and column when
   * loaded by `loadConfig`); absent for configs assembled elsewhere.
   */
  readonly warningFindings?: readonly Finding[];
  /** The files this generation was read from and their hash; set by `loadConfig`, absent for configs assembled elsewhere. */
  readonly sources?: ConfigSources;
  /**
   * Every policy document that compiled, with where it sits: for the
   * security findings of `rolegate validate` and `rolegate report usage`.
   */
  readonly documents?: readonly PlacedPolicy[];
}

/** One compiled policy document and its place in the configuration. */
export interface PlacedPolicy {
  /** The role it belongs to; absent for a guardrail (it applies to every role). */
  readonly role?: string;
  /** `trust`, `identity` (a role policy), `boundary` or `guardrail`: the `layer` of determining statements. */
  readonly layer: 'trust' | 'identity' | 'boundary' | 'guardrail';
  readonly resolved: ResolvedPolicy;
}

/** A policy document with the file it came from (the config itself when inline). */
export interface ResolvedPolicy {
  readonly ref: PolicyRef;
  readonly document: unknown;
  readonly file: string;
  /** JSON path prefix of the document inside `file`; `$` for a file of its own. */
  readonly basePath: string;
}

/** Compiling found errors; `problems` are formatted with file, policy, statement and path. */
export class PolicyCompileErrors extends Error {
  readonly problems: readonly string[];
  /** The same errors as structured findings. */
  readonly findings: readonly Finding[];
  /** `errors` may also be preformatted lines (kept as the finding's message). */
  constructor(errors: readonly (Finding | string)[]) {
    const findings = errors.map((e): Finding =>
      typeof e === 'string' ? { code: 'ERR_CONFIG_INVALID', severity: 'error', message: e } : e,
    );
    const problems = errors.map((e) => (typeof e === 'string' ? e : formatFinding(e)));
    super(`${problems.length} policy error(s):\n${problems.join('\n')}`);
    this.problems = problems;
    this.findings = findings;
  }
}

/** Thrown by a `resolve` callback that cannot produce a policy document (unreadable or broken file). */
export class PolicyResolveError extends Error {
  readonly findings: readonly Finding[];
  constructor(findings: readonly Finding[]) {
    super(findings.map(formatFinding).join('\n'));
    this.findings = findings;
  }
}

function locate(d: Diagnostic, base: string): Diagnostic {
  return base === '$' ? d : { ...d, path: base + d.path.slice(1) };
}

/** Compiles a validated config. Throws {@link PolicyCompileErrors} listing every error. */
export function compileConfig(
  config: RolegateConfig,
  resolve: (ref: PolicyRef) => ResolvedPolicy,
  issuers: readonly ResolvedIssuer[] = config.issuers,
): LoadedConfig {
  const errors: Finding[] = [];
  const warnings: Finding[] = [];
  let statementCount = 0;
  const documents: PlacedPolicy[] = [];

  const compile = (
    ref: PolicyRef,
    kind: 'identity' | 'trust',
    place: Omit<PlacedPolicy, 'resolved'>,
  ): CompiledPolicy | undefined => {
    let resolved: ResolvedPolicy;
    try {
      resolved = resolve(ref);
    } catch (err) {
      if (err instanceof PolicyResolveError) errors.push(...err.findings);
      else {
        const message = err instanceof Error ? err.message : String(err);
        errors.push({ code: 'ERR_CONFIG_INVALID', severity: 'error', path: ref.path, message });
      }
      return undefined;
    }
    const result = compilePolicy(resolved.document, { name: ref.name, file: resolved.file, kind });
    for (const d of result.diagnostics) {
      const finding = findingOf(locate(d, resolved.basePath));
      (d.severity === 'error' ? errors : warnings).push(finding);
    }
    if (result.policy) {
      statementCount += result.policy.statementCount;
      documents.push({ ...place, resolved });
    }
    return result.policy;
  };

  const guardrails = config.guardrails
    .map((ref) => compile(ref, 'identity', { layer: 'guardrail' }))
    .filter((p): p is CompiledPolicy => p !== undefined);
  const variableKeys = collectVariableKeys(guardrails);
  const roles: CompiledRole[] = [];
  for (const role of config.roles) {
    const trust = compile(role.trustPolicy, 'trust', { role: role.name, layer: 'trust' });
    const identity = role.policies
      .map((ref) => compile(ref, 'identity', { role: role.name, layer: 'identity' }))
      .filter((p): p is CompiledPolicy => p !== undefined);
    const boundary =
      role.permissionsBoundary &&
      compile(role.permissionsBoundary, 'identity', { role: role.name, layer: 'boundary' });
    collectVariableKeys([trust, ...identity, boundary], variableKeys);
    if (!trust) continue;
    roles.push({
      name: role.name,
      arn: role.arn,
      trust: createPolicySet({ identity: [trust] }),
      permissions: createPolicySet({
        guardrails,
        identity,
        ...(boundary ? { boundary: [boundary] } : {}),
      }),
    });
  }
  if (errors.length > 0) throw new PolicyCompileErrors(errors);
  return {
    settings: config,
    issuers,
    roles,
    guardrails,
    routes: config.routes.map((r, i) => compileRoute(r, i)),
    statementCount,
    warnings: warnings.map(formatFinding),
    warningFindings: warnings,
    documents,
    variableKeys,
    claimPatterns: compileClaimPatterns(issuers),
  };
}
