/**
 * The soak's request mix: mostly requests a valid token allows, and at a
 * small fixed fraction "bad inputs" that must be refused. Each kind states
 * the statuses it may get; anything else is an error.
 */

/** What one soak request is. */
export type RequestKind =
  | 'good'
  | 'no-token'
  | 'expired'
  | 'wrong-audience'
  | 'bad-signature'
  | 'dot-dot-encoded'
  | 'slash-encoded';

/** The bad kinds, tried in this order, one after the other. */
export const BAD_KINDS: readonly RequestKind[] = [
  'no-token',
  'expired',
  'wrong-audience',
  'bad-signature',
  'dot-dot-encoded',
  'slash-encoded',
];

/** Statuses a refused request may get: 400 (Envoy refuses the path), 401, 403. */
export const REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 401, 403]);

/**
 * The kind of the `seq`-th request (0-based) when one in `badEvery` is bad
 * (default 100, i.e. 1 %); `badEvery` 0 means none is.
 */
export function kindOf(seq: number, badEvery = 100): RequestKind {
  if (badEvery <= 0 || seq % badEvery !== badEvery - 1) return 'good';
  const n = Math.floor(seq / badEvery) % BAD_KINDS.length;
  return BAD_KINDS[n] ?? 'good';
}

/** True when `status` is what a request of `kind` may get. */
export function expectedStatus(kind: RequestKind, status: number): boolean {
  return kind === 'good' ? status === 200 : REFUSED_STATUSES.has(status);
}

/** The request path for `kind`; `id` varies the resource. */
export function pathFor(kind: RequestKind, id: number): string {
  switch (kind) {
    // Resolves to /orders/<id>, which the inventory role may not read.
    case 'dot-dot-encoded':
      return `/inventory/%2e%2e/orders/${id}`;
    case 'slash-encoded':
      return `/inventory/..%2Forders/${id}`;
    default:
      return `/inventory/${id}`;
  }
}
