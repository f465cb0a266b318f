/**
 * The one shape every end-to-end peer has (Envoy, the echo upstream, the JWKS
 * issuer, ...), so a test never cares whether a peer is a container, an
 * in-process server or a child process.
 */
export interface Peer {
  /** Start the peer and resolve once it answers. Throws, never skips. */
  start(): Promise<void>;
  /** Base URL (`http://127.0.0.1:PORT`) joined with `path` (default `/`). */
  url(path?: string): string;
  /** Stop the peer. Safe to call twice or before start(). */
  stop(): Promise<void>;
}

/** Join a base URL (no trailing slash) and a path. */
export function joinUrl(base: string, path = '/'): string {
  return base + (path.startsWith('/') ? path : `/${path}`);
}
