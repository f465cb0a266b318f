/**
 * Trust policies that can never match (docs/findings.md): a condition key
 * no configured source provides (WARN_TRUST_KEY_UNPROVIDED), a
 * `Principal.Federated` naming no configured issuer
 * (WARN_TRUST_FEDERATED_UNKNOWN), and a role no configured identity can
 * assume at all (WARN_ROLE_TRUST_UNSATISFIABLE). Static, like every
 * security finding: a role these pass may still admit no one at runtime.
 */
import type { Finding } from './finding.js';
import { at, finding, type Location } from './security-finding.js';
import type { PlacedStatement } from './security-statements.js';
import {
  trustStatementView,
  type KeyProblem,
  type TrustSources,
  type TrustStatementView,
} from './trust-sources.js';

/** What a missing key does to the statement, in words. */
function consequence(s: PlacedStatement, p: KeyProblem): string {
  if (p.holdsWhenAbsent) return `${p.operator} on it always holds and checks nothing`;
  return s.effect === 'Allow'
    ? `${p.operator} on it never holds and the statement admits no one`
    : `${p.operator} on it never holds and the Deny never applies`;
}

function keyFinding(s: PlacedStatement, p: KeyProblem): Finding {
  const hint = p.hint === undefined ? '' : `; did you mean ${p.hint}?`;
  return finding(
    'WARN_TRUST_KEY_UNPROVIDED',
    `condition key ${p.key} is never present (${p.why}), so ${consequence(s, p)}${hint}`,
    at(s, p.path),
  );
}

/**
 * The findings of one trust statement: each `Federated` name no issuer
 * answers to, then each condition key no admitted source provides (for
 * tokens when the statement covers `sts:AssumeRoleWithWebIdentity`, else
 * for mTLS peers when it covers `sts:AssumeRole`).
 */
export function trustStatementFindings(sources: TrustSources, s: PlacedStatement): Finding[] {
  const view = trustStatementView(sources, s);
  const federated = view.unknownFederated.map((u) => {
    const hint =
      u.nearest === undefined
        ? 'no issuer is configured'
        : `did you mean ${u.nearest.name}${u.nearest.name === u.nearest.issuer ? '' : ` (issuer ${u.nearest.issuer})`}?`;
    return finding(
      'WARN_TRUST_FEDERATED_UNKNOWN',
      `Principal.Federated ${u.name} is no configured issuer (a token matches its issuer's URL with or without the scheme, or a name in its federatedPrincipals), so this statement matches no token; ${hint}`,
      at(s, u.path),
    );
  });
  const keys = view.webIdentity ? view.tokenProblems : view.peerProblems;
  return [...federated, ...keys.map((p) => keyFinding(s, p))];
}

const keysOf = (problems: readonly KeyProblem[]) =>
  problems
    .filter((p) => !p.holdsWhenAbsent)
    .map((p) => p.key)
    .join(', ');

/** Why no token can satisfy the statement; undefined when one can. */
function tokenRefusal(sources: TrustSources, v: TrustStatementView): string | undefined {
  if (sources.issuers.length === 0) return 'no issuer is configured';
  if (v.admitted.length === 0) {
    const names = v.unknownFederated.map((u) => u.name);
    return names.length > 0
      ? `Principal.Federated ${names.join(', ')} is no configured issuer`
      : 'its Principal admits no token';
  }
  const keys = keysOf(v.tokenProblems);
  return keys === '' ? undefined : `it needs ${keys}, which no admitted token has`;
}

/** Why no configured identity satisfies Allow statement `s`; undefined when one can. */
function refusal(sources: TrustSources, s: PlacedStatement): string | undefined {
  const v = trustStatementView(sources, s);
  if (!v.webIdentity && !v.peer) {
    return `statement ${s.id} allows neither sts:AssumeRoleWithWebIdentity nor sts:AssumeRole`;
  }
  const reasons: string[] = [];
  if (v.webIdentity) {
    const why = tokenRefusal(sources, v);
    if (why === undefined) return undefined;
    reasons.push(why);
  }
  if (v.peer) {
    const keys = keysOf(v.peerProblems);
    const why = v.peerRefusal ?? (keys === '' ? undefined : `an mTLS peer never has ${keys}`);
    if (why === undefined) return undefined;
    reasons.push(why);
  }
  return `statement ${s.id}: ${reasons.join(', and ')}`;
}

/**
 * WARN_ROLE_TRUST_UNSATISFIABLE for role `role` when none of its trust
 * policy's Allow statements (`trust`) can admit a configured identity.
 * `grantsOnly` (a role just-in-time access lists) is exempt: a grant
 * admits its holder whatever the trust policy says.
 */
export function roleTrustFindings(
  sources: TrustSources,
  role: string,
  trust: readonly PlacedStatement[],
  where: Location,
  grantsOnly: boolean,
): Finding[] {
  if (grantsOnly || trust.length === 0) return [];
  const allows = trust.filter((s) => s.effect === 'Allow');
  const reasons = allows.map((s) => refusal(sources, s));
  if (reasons.some((r) => r === undefined)) return [];
  const why = allows.length === 0 ? ['its trust policy has no Allow statement'] : reasons;
  return [
    finding(
      'WARN_ROLE_TRUST_UNSATISFIABLE',
      `role ${role} can never be assumed: no configured identity satisfies its trust policy (${why.join('; ')})`,
      where,
    ),
  ];
}
