/**
 * The public contract of the policy engine. Everything in `src/policy/` is
 * pure: no I/O, no clock reads, no globals. Time reaches it only as context
 * keys (`aws:CurrentTime`, `aws:EpochTime`).
 */
import type { ErrorCode } from '../errors.js';

/** One value of a context key as callers supply it. Arrays make a key multivalued. */
export type ContextValue = string | number | boolean | readonly (string | number | boolean)[];

/** Request context as callers supply it; key names are case-insensitive. */
export type ContextInput = Readonly<Record<string, ContextValue | undefined>>;

/**
 * The principal making the request, for trust (resource) policies. Keys are
 * the IAM principal types (`AWS`, `Federated`, `Service`, `CanonicalUser`, or
 * rolegate's `Spiffe`), values the identities of that type. Matching a
 * statement's `Principal` is exact (case-sensitive) except for `*`.
 */
export type RequestPrincipal = Readonly<Record<string, readonly string[]>>;

/** What is being decided. */
export interface EvaluationRequest {
  /** `service:Name`, matched case-insensitively. */
  readonly action: string;
  /** An ARN, or `*`-free resource string; matched case-sensitively. */
  readonly resource: string;
  /** Built once per request with `buildContext`. */
  readonly context: EvaluationContext;
  /** Only trust/resource policies look at it. */
  readonly principal?: RequestPrincipal;
}

/** A normalised, immutable request context (lower-cased keys, values as string lists). */
export interface EvaluationContext {
  /** The values of `key` (any case), or `undefined` when the key is absent. */
  get(key: string): readonly string[] | undefined;
  /** True when the caller supplied the key as an array (even of length 0 or 1). */
  isMultiValued(key: string): boolean;
}

/** Where a policy came from, for diagnostics and determining statements. */
export interface PolicyOrigin {
  /** Human name of the policy (role policy name, `guardrail[0]`, input index...). */
  readonly name: string;
  /** File the policy was read from, when there is one. */
  readonly file?: string;
  /**
   * `identity` (default): Resource/NotResource required, Principal forbidden.
   * `resource`: Principal/NotPrincipal required, Resource optional.
   * `trust`: a role's trust policy: a resource policy in which IAM forbids
   * `NotPrincipal` (it compiles to kind `resource`).
   */
  readonly kind?: 'identity' | 'resource' | 'trust';
}

/** A load-time finding, located precisely. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly code: ErrorCode;
  readonly message: string;
  readonly file?: string;
  readonly policy: string;
  /** The statement's Sid, or `#<index>` when it has none; absent for document-level findings. */
  readonly statement?: string;
  /** JSON path of the offending element, e.g. `$.Statement[1].Condition.IpAddress["aws:SourceIp"][0]`. */
  readonly path: string;
}

/** A policy compiled once at load time; opaque to callers. */
export interface CompiledPolicy {
  readonly name: string;
  readonly file?: string;
  readonly kind: 'identity' | 'resource';
  readonly statementCount: number;
  /** Lower-cased context keys the document uses as policy variables (`${jwt:sub}` -> `jwt:sub`). */
  readonly variables: readonly string[];
}

/** The result of compiling one document: `policy` is present only when there are no errors. */
export interface CompileResult {
  readonly policy?: CompiledPolicy;
  readonly diagnostics: readonly Diagnostic[];
}

/** The layers of an evaluation, in AWS's order. Absent or empty layers are not applied, except `identity`. */
export interface PolicySetInput {
  /** Like SCPs: when any are given, an Allow in them is also required. */
  readonly guardrails?: readonly CompiledPolicy[];
  /** The role's identity policies (or, for trust evaluation, the trust policy). */
  readonly identity: readonly CompiledPolicy[];
  /** The role's permissions boundary: when given, it must also allow. */
  readonly boundary?: readonly CompiledPolicy[];
  /** A session policy: when given, it must also allow; it never grants alone. */
  readonly session?: readonly CompiledPolicy[];
}

/** Layers after compilation into one action-indexed structure; opaque. */
export interface PolicySet {
  readonly statementCount: number;
}

export type Layer = 'guardrail' | 'identity' | 'boundary' | 'session';

/** A statement that decided, or for an implicit deny the layer that failed to allow. */
export interface Determining {
  readonly layer: Layer;
  /** `Allow` / `Deny` for a matching statement; `ImplicitDeny` for a layer that did not allow. */
  readonly effect: 'Allow' | 'Deny' | 'ImplicitDeny';
  /** Policy name; absent for `ImplicitDeny`. */
  readonly policy?: string;
  /** Sid, or `#<index>`; absent for `ImplicitDeny`. */
  readonly statement?: string;
}

/** A problem met while evaluating (a condition value that could not be compared, for instance). */
export interface EvaluationError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly policy: string;
  readonly statement: string;
}

export type DecisionKind = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** The element of a statement that kept it from applying to the request. */
export interface StatementFailure {
  /** `Principal` (or `NotPrincipal`), `Resource` (or `NotResource`), or a `Condition` clause. */
  readonly element: 'Principal' | 'Resource' | 'Condition';
  /** For `Condition`: the operator as written (`StringEquals`, `ForAnyValue:StringLike`, ...). */
  readonly operator?: string;
  /** For `Condition`: the context key as written (`jwt:groups`); a name, never a value. */
  readonly key?: string;
}

/**
 * One statement whose action part matched the request, and whether the
 * rest of it (principal, resource, conditions) did.
 */
export interface StatementResult {
  readonly layer: Layer;
  readonly policy: string;
  /** Sid, or `#<index>`. */
  readonly statement: string;
  readonly effect: 'Allow' | 'Deny';
  readonly matched: boolean;
  /** Absent when `matched`; else the first element, in document order, that did not hold. */
  readonly failed?: StatementFailure;
}

/** Why the decision came out as it did, statement by statement (see `EvaluateOptions.explain`). */
export interface DecisionExplanation {
  /** Every statement whose action matched, in evaluation order (layer, policy, statement). */
  readonly statements: readonly StatementResult[];
  /**
   * AWS's MissingContextValues: the context keys (as first written, in
   * order, once each) that a condition of such a statement read and the
   * request did not have. The `Null` operator, which tests absence, does not
   * count.
   */
  readonly missingContextValues: readonly string[];
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /**
   * `never` (default): no explanation, nothing extra computed. `deny`:
   * explain only a decision that is not `Allow`. `always`: explain every
   * decision. An explanation is a second, separate pass over the candidate
   * statements, so the decision itself never pays for it.
   */
  readonly explain?: 'never' | 'deny' | 'always';
}

/** The answer, with its reasons. */
export interface Decision {
  readonly decision: DecisionKind;
  readonly determining: readonly Determining[];
  readonly errors: readonly EvaluationError[];
  /** Present only when asked for with `EvaluateOptions.explain`. */
  readonly explanation?: DecisionExplanation;
}
