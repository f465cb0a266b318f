/**
 * Route path templates (`/orders/{id}`, `/files/{key+}`): their parameters,
 * and the load-time check that an action or resource names only those.
 * Shared by the options schema and the route table.
 */

/** One `{name}` or `{name+}` of a template. */
export const PARAM = /\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}/g;

/** The parameter names a template refers to (`{x}` or `{x+}`), in order. */
export function templateParameters(template: string): string[] {
  return [...template.matchAll(PARAM)].map((m) => m[1] ?? '');
}

/** A route field whose template names a parameter its path does not define. */
export interface RouteTemplateProblem {
  readonly field: 'action' | 'resource';
  readonly message: string;
}

/**
 * Load-time check of one route: every `{name}` in `action` and `resource`
 * must be a parameter of `path` (otherwise it could only be used literally).
 */
export function routeTemplateProblems(route: {
  readonly path: string;
  readonly action: string;
  readonly resource: string;
}): RouteTemplateProblem[] {
  const params = new Set(templateParameters(route.path));
  const problems: RouteTemplateProblem[] = [];
  for (const field of ['action', 'resource'] as const) {
    const unknown = [...new Set(templateParameters(route[field]))].filter((n) => !params.has(n));
    if (unknown.length === 0) continue;
    const names = unknown.map((n) => `{${n}}`).join(', ');
    const known = params.size === 0 ? 'none' : [...params].map((n) => `{${n}}`).join(', ');
    problems.push({
      field,
      message: `names ${names}, which the path template "${route.path}" does not have (its parameters: ${known})`,
    });
  }
  return problems;
}
