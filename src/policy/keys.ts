/**
 * Which context keys are single-valued and which multivalued. The compiler
 * uses it to reject a set operator on a single-valued key and a
 * multivalued key used as a policy variable. Unknown keys draw no complaint.
 */

/** Names are matched case-insensitively; an entry ending in `*` is a prefix. */
export interface KeyRegistry {
  readonly singleValued: readonly string[];
  readonly multiValued: readonly string[];
}

export type KeyKind = 'single' | 'multi' | 'unknown';

/** The keys rolegate itself provides. `jwt:*` and `<issuer>:aud|amr` may be either, so they are unknown. */
export const DEFAULT_KEY_REGISTRY: KeyRegistry = {
  singleValued: [
    'aws:CurrentTime',
    'aws:EpochTime',
    'aws:SourceIp',
    'aws:SecureTransport',
    'aws:PrincipalArn',
    'aws:userid',
    'aws:username',
    'aws:TokenIssueTime',
    'aws:MultiFactorAuthPresent',
    'aws:RequestedRegion',
    'aws:PrincipalTag/*',
    'aws:ResourceTag/*',
    'http:method',
    'http:path',
    'http:host',
    'http:header/*',
    'http:query/*',
    'envoy:context/*',
    'envoy:source/principal',
    'rolegate:RequestedDuration',
    'rolegate:Requester',
    'rolegate:BreakGlass',
    'rolegate:SelfApproval',
    'rolegate:OnCall',
    'rolegate:MinuteOfDay',
    'rolegate:DayOfWeek',
  ],
  multiValued: ['aws:TagKeys', 'aws:PrincipalServiceNamesList', 'rolegate:RequesterGroups'],
};

/** A registry compiled for lookups. */
export interface KeyClassifier {
  classify(key: string): KeyKind;
}

export function keyClassifier(reg: KeyRegistry): KeyClassifier {
  const exact = new Map<string, KeyKind>();
  const prefixes: [string, KeyKind][] = [];
  const add = (name: string, kind: KeyKind): void => {
    const lower = name.toLowerCase();
    if (lower.endsWith('*')) prefixes.push([lower.slice(0, -1), kind]);
    else exact.set(lower, kind);
  };
  for (const k of reg.singleValued) add(k, 'single');
  for (const k of reg.multiValued) add(k, 'multi');
  prefixes.sort((a, b) => b[0].length - a[0].length);
  return {
    classify(key: string): KeyKind {
      const lower = key.toLowerCase();
      const hit = exact.get(lower);
      if (hit !== undefined) return hit;
      for (const [p, kind] of prefixes)
        if (lower.startsWith(p) && lower.length > p.length) return kind;
      return 'unknown';
    },
  };
}
