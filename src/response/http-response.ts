/**
 * Decision -> the HTTP check answer (nginx `auth_request`, forward-auth,
 * Envoy `http_service`). It reads the same {@link CheckOutcome} as the gRPC
 * builder and answers the same way: an allow is `200` (every one of those
 * proxies takes 200 as allow; nginx also takes other 2xx, Envoy only 200)
 * with the identity and credential headers as response headers, for the
 * proxy to copy to the upstream; a deny is the same status, headers and
 * fixed body as the gRPC `DeniedHttpResponse`.
 */
import type { CheckOutcome } from '../decision/outcome.js';
import { allowHeaders, denyAnswer, type ResponseSettings } from './check-response.js';
import type { HttpCheckAnswer } from '../wire/http-check.js';
import { DECISION_ID_HEADER } from './upstream-headers.js';

/** The response header Envoy's `http_service` reads as the request headers to remove. */
export const HEADERS_TO_REMOVE = 'x-envoy-auth-headers-to-remove';

/**
 * Builds the HTTP answer for an outcome. `inbound` are the request's
 * lower-cased headers. An allow's header list is the gRPC allow's
 * `headers` (same names and values), and its `headers_to_remove` travel
 * in `x-envoy-auth-headers-to-remove`, which Envoy honours; nginx and
 * forward-auth proxies cannot remove headers on our say, so their config
 * must set every owned header itself (`proxy_set_header
 * X-Rolegate-Principal $rolegate_principal;` replaces a forged one, and an
 * empty value drops it).
 */
export function toHttpResponse(
  outcome: CheckOutcome,
  inbound: Readonly<Record<string, string>>,
  settings: ResponseSettings,
): HttpCheckAnswer {
  if (!outcome.allowed || !outcome.principal || !outcome.role) return denyAnswer(outcome, settings);
  const { injected, remove } = allowHeaders(outcome, inbound, settings);
  const headers: Record<string, string> = { [DECISION_ID_HEADER]: outcome.decisionId };
  for (const [k, v] of injected) headers[k] = v;
  // Envoy's http_service removes these from the request (the gRPC
  // `headers_to_remove`); nginx and forward-auth proxies ignore it.
  if (remove.length > 0) headers[HEADERS_TO_REMOVE] = remove.join(',');
  return { status: 200, headers, body: '' };
}
