/**
 * Maps a request to its IAM action and resource, in the documented order:
 * Envoy per-route `context_extensions` (`action`, `resource`), then the
 * config's route table, then the default mapping when the config allows it.
 */
import type { AuthzRequest } from '../request/types.js';
import { defaultRoute, matchRoute, type CompiledRoute, type RouteMatch } from './table.js';

export interface RouteSettings {
  readonly routes: readonly CompiledRoute[];
  readonly unmatchedRoutes: 'deny' | 'default';
}

/** The request's action and resource, or `undefined` when it must be denied as unmatched. */
export function resolveRoute(
  request: AuthzRequest,
  settings: RouteSettings,
): RouteMatch | undefined {
  const ext = request.contextExtensions;
  const extAction = ext['action'];
  if (extAction !== undefined && extAction !== '') {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(ext)) {
      if (k.startsWith('tag:')) tags[k.slice(4)] = v;
    }
    return {
      action: extAction,
      resource:
        ext['resource'] || defaultRoute(request.method, request.host, request.path).resource,
      source: 'context_extensions',
      tags,
      // Only the two documented values ask for credentials; anything else asks for none.
      ...(ext['credentials'] === 'required' || ext['credentials'] === 'optional'
        ? { credentials: ext['credentials'] }
        : {}),
    };
  }
  const fromTable = matchRoute(settings.routes, request.method, request.path);
  if (fromTable) return fromTable;
  return settings.unmatchedRoutes === 'default'
    ? defaultRoute(request.method, request.host, request.path)
    : undefined;
}
