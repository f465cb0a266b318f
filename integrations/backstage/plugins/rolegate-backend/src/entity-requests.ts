/**
 * What an approver sees on an entity's page: the pending access requests
 * for the roles that reach the entity, each marked `approvable` when the
 * viewer owns the entity and did not ask for it themself.
 *
 * The mark only decides which buttons the card shows. Whether an approval
 * is taken is rolegate's decision alone (`rolegate:ApproveAccessRequest`
 * on the role, never one's own request): a viewer who is shown no button
 * and calls the API anyway gets rolegate's answer, nothing more.
 */
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';

/** One route of rolegate's reach answer, as far as this module reads it. */
interface ReachRoute {
  readonly roles?: readonly { readonly role?: unknown }[];
}

/** The viewer, as Backstage's user info service knows them. */
export interface Viewer {
  /** `user:default/alice`. */
  readonly userEntityRef: string;
  /** The user and the groups they belong to, as entity refs. */
  readonly ownershipEntityRefs: readonly string[];
}

/** The answer of `GET /entity-requests`. */
export interface EntityRequests {
  readonly entity: string;
  /** The entity's owner as rolegate's catalog source holds it; absent when it has none. */
  readonly owner?: string;
  /** Whether the viewer is the owner or a member of the owning group. */
  readonly viewerOwns: boolean;
  /** The pending requests for the roles that reach the entity, rolegate's fields plus `approvable`. */
  readonly requests: readonly Record<string, unknown>[];
}

/** An entity ref in its canonical form (kind and namespace lower case), for comparing. */
function canonical(ref: string, defaultKind?: string): string | undefined {
  try {
    return stringifyEntityRef(
      parseEntityRef(ref, { defaultKind: defaultKind ?? 'group', defaultNamespace: 'default' }),
    ).toLocaleLowerCase('en-US');
  } catch {
    return undefined;
  }
}

/** The role names of rolegate's reach answer `reach` (its `routes[].roles[].role`). */
export function reachingRoles(reach: Record<string, unknown>): Set<string> {
  const roles = new Set<string>();
  const routes = Array.isArray(reach['routes']) ? (reach['routes'] as ReachRoute[]) : [];
  for (const route of routes) {
    for (const r of route.roles ?? []) if (typeof r.role === 'string') roles.add(r.role);
  }
  return roles;
}

/**
 * The pending requests of `pending` (rolegate's `GET /v1/access/requests`
 * answer) for the roles of `reach` (its `GET /v1/access/reach` answer),
 * marked for `viewer`. An owner given by rolegate as a bare name
 * (`payments`) is read as Backstage reads `spec.owner`: a group in the
 * default namespace.
 */
export function entityRequests(
  entity: string,
  reach: Record<string, unknown>,
  pending: Record<string, unknown>,
  viewer: Viewer,
): EntityRequests {
  const tags = (reach['tags'] ?? {}) as Record<string, unknown>;
  const owner = typeof tags['owner'] === 'string' ? tags['owner'] : undefined;
  const ownerRef = owner === undefined ? undefined : canonical(owner);
  const mine = new Set(viewer.ownershipEntityRefs.map((r) => canonical(r, 'user')));
  const viewerOwns = ownerRef !== undefined && mine.has(ownerRef);
  const self = canonical(viewer.userEntityRef, 'user');
  const roles = reachingRoles(reach);
  const all = Array.isArray(pending['requests'])
    ? (pending['requests'] as Record<string, unknown>[])
    : [];
  const requests = all
    .filter(
      (r) => r['status'] === 'pending' && typeof r['role'] === 'string' && roles.has(r['role']),
    )
    .map((r) => ({
      ...r,
      approvable:
        viewerOwns &&
        typeof r['requester'] === 'string' &&
        canonical(r['requester'], 'user') !== self,
    }));
  return { entity, ...(owner === undefined ? {} : { owner }), viewerOwns, requests };
}
