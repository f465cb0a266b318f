/**
 * Shaping a deny as the `deny` options ask (global, then per route): the
 * status (401/403/404), a body from a template with only safe fields,
 * extra headers, and for a browser without a valid credential a 302 to the
 * login page with the original URL (allowed hosts only). The same shaped
 * answer goes out over gRPC (`DeniedHttpResponse`) and HTTP. 400-class
 * denies (a request that cannot be read) are never reshaped.
 */
import type { HttpCheckAnswer } from '../wire/http-check.js';
import type { DenyOptions } from './deny-options.js';

/** The statuses a deny may carry once shaped. */
export type DenyStatus = 302 | 400 | 401 | 403 | 404;

/** A deny as an HTTP answer: the same status, headers and body in every transport. */
export interface ShapedDeny extends HttpCheckAnswer {
  readonly status: DenyStatus;
}

/** What shaping reads of the request. */
export interface DenyContext {
  /** The request's `Accept` header asks for HTML (a browser). */
  readonly acceptsHtml: boolean;
  /** `scheme://host/path?query` of the original request, when its host is known. */
  readonly originalUrl?: string;
}

/** The message of each status when `deny.message` is not set. */
export const DEFAULT_DENY_MESSAGE = {
  400: 'the request cannot be authorized',
  401: 'a valid bearer token is required',
  403: 'the request is not allowed',
  404: 'not found',
} as const;

const ERROR_NAME = { 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found' } as const;

/** A `deny` block per route over the global one, field by field. */
export function mergeDeny(
  global: DenyOptions | undefined,
  route: DenyOptions | undefined,
): DenyOptions | undefined {
  if (route === undefined) return global;
  if (global === undefined) return route;
  return { ...global, ...route };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `template` with each safe field, escaped for `format`. */
export function renderDenyTemplate(
  template: string,
  format: 'json' | 'html',
  values: { decision_id: string; status: number; message: string },
): string {
  return template.replace(/\{\{\s*(decision_id|status|message)\s*\}\}/g, (_, name: string) => {
    const value = String(values[name as keyof typeof values]);
    // JSON: the string's content without its quotes, so `"{{message}}"` stays valid.
    return format === 'json' ? JSON.stringify(value).slice(1, -1) : escapeHtml(value);
  });
}

function hostAllowed(url: string, allowed: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return allowed.some((a) =>
    a.startsWith('*.') ? host.endsWith(a.slice(1)) && host.length > a.length - 1 : host === a,
  );
}

/**
 * Applies `shape` to the fixed deny `base`. Absent `shape`, or a 400
 * `base`, returns `base` unchanged.
 */
export function shapeDeny(
  base: ShapedDeny,
  decisionId: string,
  shape: DenyOptions | undefined,
  ctx: DenyContext,
): ShapedDeny {
  if (shape === undefined || base.status === 400 || base.status === 302 || base.status === 404) {
    return base;
  }
  const extra = shape.headers ?? {};
  const idHeader = Object.entries(base.headers).filter(([k]) => k !== 'content-type');
  if (base.status === 401 && shape.login !== undefined && ctx.acceptsHtml) {
    const target = new URL(shape.login.url);
    const back = ctx.originalUrl;
    // Open-redirect safe: the target is the configured login page, and the
    // return address goes along only when its host is one the config allows.
    if (back !== undefined && hostAllowed(back, shape.login.allowedHosts)) {
      target.searchParams.set(shape.login.param, back);
    }
    return {
      status: 302,
      headers: {
        ...extra,
        ...Object.fromEntries(idHeader.filter(([k]) => k !== 'www-authenticate')),
        location: target.href,
        'cache-control': 'no-store',
      },
      body: '',
    };
  }
  const status = shape.status ?? base.status;
  const message = shape.message ?? DEFAULT_DENY_MESSAGE[status];
  const headers: Record<string, string> = { ...extra };
  for (const [k, v] of idHeader) if (k !== 'www-authenticate') headers[k] = v;
  if (status === 401) {
    headers['www-authenticate'] = base.headers['www-authenticate'] ?? 'Bearer realm="rolegate"';
  }
  let body: string;
  if (shape.body !== undefined) {
    body = renderDenyTemplate(shape.body.template, shape.body.format, {
      decision_id: decisionId,
      status,
      message,
    });
    headers['content-type'] =
      shape.body.format === 'json' ? 'application/json' : 'text/html; charset=utf-8';
  } else if (status === base.status && shape.message === undefined) {
    body = base.body;
    headers['content-type'] = 'application/json';
  } else {
    body = JSON.stringify({ error: ERROR_NAME[status], message });
    headers['content-type'] = 'application/json';
  }
  return { status, headers, body };
}
