/**
 * Turns a validated config plus its policy documents into the runtime
 * form: every policy compiled once, routes compiled, each role's layers
 * (guardrails, role policies, boundary) indexed into one PolicySet.
 */
import { compilePolicy, createPolicySet, formatDiagnostic } from '../policy/index.js';
import type { CompiledPolicy, Diagnostic, PolicySet } from '../policy/types.js';
import { compileRoute, type CompiledRoute } from '../route/table.js';
import type { ResolvedIssuer } from '../identity/jwt.js';
import type { PolicyRef, RolegateConfig } from './schema.js';

export interface RuntimeRole {
  readonly name: string;
  readonly arn: string;
  readonly trust: PolicySet;
  readonly permissions: PolicySet;
}

/** The immutable runtime view of one configuration generation. */
export interface RuntimeConfig {
  readonly config: RolegateConfig;
  /** Issuers with their key files and secrets resolved. */
  readonly issuers: readonly ResolvedIssuer[];
  readonly roles: readonly RuntimeRole[];
  /** The compiled guardrails, so roles loaded later (from AWS IAM) get the same ones. */
  readonly guardrails?: readonly CompiledPolicy[];
  readonly routes: readonly CompiledRoute[];
  /** Statements across all policies, for the `rolegate_policy_statements` gauge. */
  readonly statementCount: number;
  /** Warnings from policy validation, formatted with their locations. */
  readonly warnings: readonly string[];
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
  constructor(problems: readonly string[]) {
    super(`${problems.length} policy error(s):\n${problems.join('\n')}`);
    this.problems = problems;
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
): RuntimeConfig {
  const errors: string[] = [];
  const warnings: string[] = [];
  let statementCount = 0;

  const compile = (ref: PolicyRef, kind: 'identity' | 'trust'): CompiledPolicy | undefined => {
    let resolved: ResolvedPolicy;
    try {
      resolved = resolve(ref);
    } catch (err) {
      errors.push(`${ref.path}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
    const result = compilePolicy(resolved.document, { name: ref.name, file: resolved.file, kind });
    for (const d of result.diagnostics) {
      const line = formatDiagnostic(locate(d, resolved.basePath));
      (d.severity === 'error' ? errors : warnings).push(line);
    }
    if (result.policy) statementCount += result.policy.statementCount;
    return result.policy;
  };

  const guardrails = config.guardrails
    .map((ref) => compile(ref, 'identity'))
    .filter((p): p is CompiledPolicy => p !== undefined);
  const roles: RuntimeRole[] = [];
  for (const role of config.roles) {
    const trust = compile(role.trustPolicy, 'trust');
    const identity = role.policies
      .map((ref) => compile(ref, 'identity'))
      .filter((p): p is CompiledPolicy => p !== undefined);
    const boundary = role.permissionsBoundary && compile(role.permissionsBoundary, 'identity');
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
    config,
    issuers,
    roles,
    guardrails,
    routes: config.routes.map((r, i) => compileRoute(r, i)),
    statementCount,
    warnings,
  };
}
