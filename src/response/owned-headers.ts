/**
 * The one list of headers rolegate owns on the upstream request: every
 * header it writes there (identity, just-in-time grant, STS credentials,
 * configured claim headers) and every inbound header it strips (the
 * requested-role header, the method overrides of `headers.stripInbound`).
 * The upstream trusts these names to come from rolegate, so a client's copy
 * must never reach it: over Envoy rolegate removes that copy itself
 * (`allowHeaders`), and every shipped proxy example clears each name on
 * this list (test/unit/repo/example-owned-headers.test.ts holds them to it).
 */
import {
  DECISION_ID_HEADER,
  GRANT_EXPIRES_HEADER,
  GRANT_ID_HEADER,
  PRINCIPAL_HEADER,
  ROLE_HEADER,
} from './upstream-headers.js';

/**
 * Prefix of the headers rolegate owns by name: an inbound `x-rolegate-*`
 * header never reaches the upstream through Envoy, listed or not (a proxy
 * that cannot match a prefix clears the listed ones).
 */
export const OWNED_HEADER_PREFIX = 'x-rolegate-';

/** Why a header is owned. */
export type OwnedHeaderKind =
  /** principal, role ARN, decision id: on every allow. */
  | 'identity'
  /** the just-in-time grant's id and expiry: on an allow under a grant. */
  | 'grant'
  /** STS credentials (`aws.sts.headers`): on an allow of a credentials route. */
  | 'credential'
  /** `headers.claims`: on an allow whose principal has the claim. */
  | 'claim'
  /** `headers.requestedRole`: read from the client to pick a role, never passed on. */
  | 'requested-role'
  /** `headers.stripInbound` (the method overrides by default): only ever removed. */
  | 'stripped'
  /**
   * The headers rolegate signs its access webhook deliveries with
   * (`src/access/webhooks.ts`): never sent upstream, but an API that also
   * receives rolegate's webhooks must never read a client's copy as rolegate's.
   */
  | 'webhook';

/** One owned header. */
export interface OwnedHeader {
  /** Lower-case name. */
  readonly name: string;
  /** The first reason it is owned (a name owned twice keeps its first kind, in the order of {@link OwnedHeaderKind}). */
  readonly kind: OwnedHeaderKind;
  /**
   * True when rolegate may set it on an allow, so a proxy copies it from
   * rolegate's answer onto the upstream request; false when it is only ever
   * removed.
   */
  readonly written: boolean;
}

/** What the list is computed from: the validated config's `headers` section (`HeadersConfig`). */
export interface OwnedHeaderConfig {
  readonly headers: {
    /** `headers.claims`: upstream header name -> claim path; only the names are read. */
    readonly claims: Readonly<Record<string, string>>;
    /** `headers.requestedRole`. */
    readonly requestedRole: string;
    /** `headers.stripInbound`. */
    readonly stripInbound: readonly string[];
  };
}

const IDENTITY: readonly string[] = [PRINCIPAL_HEADER, ROLE_HEADER, DECISION_ID_HEADER];
const GRANT: readonly string[] = [GRANT_ID_HEADER, GRANT_EXPIRES_HEADER];
/** `x-rolegate-event` and `x-rolegate-signature` of a webhook delivery (a unit test ties them to webhooks.ts). */
export const WEBHOOK_HEADERS: readonly string[] = ['x-rolegate-event', 'x-rolegate-signature'];

/**
 * Every header rolegate owns under `config`, identity first, each name once.
 *
 * `credentialHeaders` are the STS credential header names,
 * `credentialHeaderNames(config.aws)` of `src/aws/config.ts` (the defaults
 * `x-rolegate-aws-access-key-id`, `-secret-access-key`, `-session-token`,
 * `-expiration`, plus any configured in `aws.sts.headers`). They are passed
 * in rather than read here because `src/aws` depends on the pipeline, not
 * the other way round (`src/check` wires them in).
 */
export function ownedHeaders(
  config: OwnedHeaderConfig,
  credentialHeaders: readonly string[],
): readonly OwnedHeader[] {
  const out = new Map<string, OwnedHeader>();
  const add = (names: Iterable<string>, kind: OwnedHeaderKind, written: boolean): void => {
    for (const raw of names) {
      const name = raw.toLowerCase();
      if (!out.has(name)) out.set(name, { name, kind, written });
    }
  };
  add(IDENTITY, 'identity', true);
  add(GRANT, 'grant', true);
  add(credentialHeaders, 'credential', true);
  add(Object.keys(config.headers.claims), 'claim', true);
  add([config.headers.requestedRole], 'requested-role', false);
  add(config.headers.stripInbound, 'stripped', false);
  add(WEBHOOK_HEADERS, 'webhook', false);
  return [...out.values()];
}

/** The names of {@link ownedHeaders}, for lookups; the same set for the same inputs. */
export function ownedHeaderNames(
  config: OwnedHeaderConfig,
  credentialHeaders: readonly string[],
): ReadonlySet<string> {
  // Asked on every allow: one set per configuration (its `claims` object),
  // rebuilt only when one of the other inputs is another object.
  const { claims, requestedRole, stripInbound } = config.headers;
  const memo = namesMemo.get(claims);
  if (
    memo !== undefined &&
    memo.requestedRole === requestedRole &&
    memo.stripInbound === stripInbound &&
    memo.credentialHeaders === credentialHeaders
  ) {
    return memo.names;
  }
  const names: ReadonlySet<string> = new Set(
    ownedHeaders(config, credentialHeaders).map((h) => h.name),
  );
  namesMemo.set(claims, { requestedRole, stripInbound, credentialHeaders, names });
  return names;
}

interface NamesMemo {
  readonly requestedRole: string;
  readonly stripInbound: readonly string[];
  readonly credentialHeaders: readonly string[];
  readonly names: ReadonlySet<string>;
}

const namesMemo = new WeakMap<object, NamesMemo>();

/** True when `name` (lower-case) is owned: on the list, or under {@link OWNED_HEADER_PREFIX}. */
export function isOwnedHeader(name: string, owned: ReadonlySet<string>): boolean {
  return name.startsWith(OWNED_HEADER_PREFIX) || owned.has(name);
}
