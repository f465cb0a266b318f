/**
 * Memoised role selection for a cached principal. Which roles a caller may
 * assume is a pure function of the generation's trust policies, the
 * principal and the context keys those policies read; when every key a
 * role's trust policy reads is answered from the principal alone
 * (`principalOnlyKey`), its verdict for that principal object is computed
 * once per configuration generation. A verified token's principal is the
 * same object on every cache hit, so warm callers skip the trust
 * evaluation; only principals the token cache holds (`memoise`) are
 * memoised, since another would never be asked about again; any role whose trust reads a request, route or time key is
 * evaluated on every call, as without the memo.
 */
import { contextKeysRead, type EvaluationContext } from '../policy/index.js';
import type { Principal } from '../identity/principal.js';
import { admits, evaluateTrust, type TrustedRole } from '../roles/trust.js';
import { principalOnlyKey } from './context.js';

/** Per-principal verdicts: index = the role's position in the generation; 0 unknown, 1 admits, 2 does not. */
type Verdicts = Uint8Array;

interface GenerationMemo {
  /** Position of each role whose verdict may be memoised. */
  readonly memoisable: ReadonlyMap<TrustedRole, number>;
  readonly byPrincipal: WeakMap<Principal, Verdicts>;
  readonly size: number;
}

/** One memo per generation's role list (a reload brings a new list, so old verdicts are never read). */
const generations = new WeakMap<readonly TrustedRole[], GenerationMemo>();

function generationMemo(roles: readonly TrustedRole[]): GenerationMemo {
  let memo = generations.get(roles);
  // A generation's list is never changed in place; if it ever were, start over.
  if (memo === undefined || memo.size !== roles.length) {
    const memoisable = new Map<TrustedRole, number>();
    roles.forEach((role, i) => {
      if (contextKeysRead(role.trust).every(principalOnlyKey)) memoisable.set(role, i);
    });
    memo = { memoisable, byPrincipal: new WeakMap(), size: roles.length };
    generations.set(roles, memo);
  }
  return memo;
}

/**
 * `assumableRoles` (roles/trust.ts) with memoised verdicts: the same roles,
 * in the same order, for every principal and context. `generationRoles`
 * is the generation's whole role list (the memo's key); `requested`
 * narrows the considered roles to one name or ARN.
 */
export function memoisedAssumableRoles<R extends TrustedRole>(
  generationRoles: readonly R[],
  principal: Principal,
  context: EvaluationContext,
  requested?: string,
): { considered: readonly R[]; assumable: R[] } {
  const considered =
    requested === undefined
      ? generationRoles
      : generationRoles.filter((r) => r.name === requested || r.arn === requested);
  const memo = generationMemo(generationRoles);
  const keep = principal.memoise === true;
  let verdicts = !keep || memo.memoisable.size === 0 ? undefined : memo.byPrincipal.get(principal);
  const assumable: R[] = [];
  for (const role of considered) {
    const at = memo.memoisable.get(role);
    if (at === undefined) {
      if (admits(evaluateTrust(role, principal, context))) assumable.push(role);
      continue;
    }
    if (verdicts === undefined) {
      verdicts = new Uint8Array(memo.size);
      if (keep) memo.byPrincipal.set(principal, verdicts);
    }
    let verdict = verdicts[at];
    if (verdict === 0) {
      verdict = admits(evaluateTrust(role, principal, context)) ? 1 : 2;
      verdicts[at] = verdict;
    }
    if (verdict === 1) assumable.push(role);
  }
  return { considered, assumable };
}
