/**
 * The HTTP check endpoint's call and answer (nginx `auth_request`,
 * forward-auth proxies, Envoy `http_service`), in a leaf of their own: the
 * listener in src/transport/http/ produces calls and sends answers, the
 * pipeline (request/, response/, check/) reads and builds them, and both
 * read this one definition instead of keeping two copies in step. Types
 * only; this module imports nothing of ours.
 */

/** Which proxy is asking, chosen by the endpoint it calls (`/nginx`, `/forward`, the Envoy prefix). */
export type FrontDoor = 'nginx' | 'forward' | 'envoy';

/** One HTTP check call as the listener received it. */
export interface HttpCheckCall {
  readonly method: string;
  /** The check request's target (`/envoy/orders/1?x=1`). */
  readonly target: string;
  /** Lower-cased names, every value in arrival order (Node's `headersDistinct`). */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  /** The TCP peer's address; absent when the socket no longer knows it. */
  readonly peerIp?: string;
}

/** The answer to one HTTP check call: an allow (200) or a deny, as the listener sends it. */
export interface HttpCheckAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}
