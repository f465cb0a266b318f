/** One compiled statement, as evaluation reads it (built by `compile-statement.ts`). */
import type { ArnPattern } from './arn.js';
import type { Clause } from './conditions.js';
import type { Glob } from './glob.js';
import type { PrincipalMatcher } from './principal.js';

/** A statement after compilation. */
export interface CompiledStatement {
  readonly index: number;
  /** Sid, or `#<index>`. */
  readonly label: string;
  readonly effect: 'Allow' | 'Deny';
  readonly notAction: boolean;
  /** Lower-cased action patterns as written. */
  readonly actions: readonly string[];
  /** Action patterns as written (for a case-preserving fast lookup). */
  readonly writtenActions: readonly string[];
  readonly actionGlobs: readonly Glob[];
  readonly notResource: boolean;
  /** `undefined`: no Resource element (trust policies), matches any resource. */
  readonly resources: readonly ArnPattern[] | undefined;
  readonly notPrincipal: boolean;
  /** `undefined`: no Principal element (identity policies). */
  readonly principal: PrincipalMatcher | undefined;
  readonly clauses: readonly Clause[];
}
