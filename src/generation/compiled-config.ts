/**
 * The compiled form of one configuration (roles, routes and issuers, over
 * the settings of the modules a Check consults) that `check`, `aws` and
 * `config` share. `src/config` builds it (see `compile.ts`) with the whole
 * validated config as `settings`; this leaf imports neither of them.
 */
import type { ResolvedIssuer } from '../identity/jwt.js';
import type { MtlsConfig } from '../identity/options.js';
import type { CompiledPolicy, PolicySet } from '../policy/types.js';
import type { HeadersConfig } from '../request/options.js';
import type { DenyOptions } from '../response/deny-options.js';
import type { CompiledRoute } from '../route/table.js';
import type { ClaimPatterns } from '../identity/variable-claims.js';

export interface CompiledRole {
  readonly name: string;
  readonly arn: string;
  readonly trust: PolicySet;
  readonly permissions: PolicySet;
}

/**
 * The options a Check reads from the config. The AWS integration reads its
 * own section on top (`src/aws` extends this type; nothing here imports it).
 */
export interface CheckSettings {
  readonly unmatchedRoutes: 'deny' | 'default';
  readonly headers: HeadersConfig;
  readonly mtls: MtlsConfig;
  readonly guardrails: readonly unknown[];
  /** How denies look; absent: the fixed deny. */
  readonly deny?: DenyOptions | undefined;
  /** The routes as configured (index = `route[<i>]`), for their `deny`. */
  readonly routes: readonly { readonly deny?: DenyOptions | undefined }[];
}

/** The immutable compiled view of one configuration generation. */
export interface CompiledConfig<C extends CheckSettings = CheckSettings> {
  readonly settings: C;
  /** Issuers with their key files and secrets resolved. */
  readonly issuers: readonly ResolvedIssuer[];
  readonly roles: readonly CompiledRole[];
  /** The compiled guardrails, so roles loaded later (from AWS IAM) get the same ones. */
  readonly guardrails?: readonly CompiledPolicy[];
  readonly routes: readonly CompiledRoute[];
  /** Statements across all policies, for the `rolegate_policy_statements` gauge. */
  readonly statementCount: number;
  /** Warnings from policy validation, formatted with their locations. */
  readonly warnings: readonly string[];
  /** Lower-cased context keys any policy of this generation substitutes as a variable. */
  readonly variableKeys: ReadonlySet<string>;
  /** The issuers' compiled `claimPatterns`, checked on claims used as variables. */
  readonly claimPatterns: ClaimPatterns;
  /** Where the generation came from: its content hash names it in audit records. Absent for configs assembled elsewhere. */
  readonly sources?: { readonly hash: string };
}

/** The keys `policies` substitute as variables, added to `into`. */
export function collectVariableKeys(
  policies: readonly (CompiledPolicy | undefined)[],
  into: Set<string> = new Set(),
): Set<string> {
  for (const p of policies) for (const key of p?.variables ?? []) into.add(key);
  return into;
}
