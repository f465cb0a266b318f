/**
 * Issuer URLs that differ only in spelling: `localhost` against `127.0.0.1`
 * or `[::1]`, `http` against `https`, a trailing slash, letter case of the
 * host. OpenID Connect compares issuers as exact strings, so such a pair is
 * two different issuers; the operator who wrote one and meant the other is
 * told which one (the "did you mean" of an explanation) and how they differ.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

interface Spelled {
  readonly scheme: string;
  readonly host: string;
  readonly port: string;
  readonly path: string;
  readonly slash: boolean;
}

function spelled(issuer: string): Spelled | undefined {
  if (!URL.canParse(issuer)) return undefined;
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  return {
    scheme: url.protocol.replace(/:$/, ''),
    host: url.hostname,
    // Empty for the scheme's default port, written or not.
    port: url.port,
    path: `${path}${url.search}`,
    slash: issuer.endsWith('/'),
  };
}

/**
 * How `a` and `b` differ when they name the same issuer spelled another
 * way, as short phrases (`host localhost vs 127.0.0.1`, `scheme http vs
 * https`, `trailing slash`); `undefined` when they differ in anything else
 * (another host, port or path), and `[]` when they are equal.
 */
export function issuerSpellingDifference(a: string, b: string): string[] | undefined {
  if (a === b) return [];
  const x = spelled(a);
  const y = spelled(b);
  if (x === undefined || y === undefined) return undefined;
  // Another port or path is another issuer (a default port is no port: `:443` on https).
  if (x.port !== y.port || x.path !== y.path) return undefined;
  const differences: string[] = [];
  if (x.host !== y.host) {
    if (!(LOOPBACK.has(x.host) && LOOPBACK.has(y.host))) return undefined;
    differences.push(`host ${x.host} vs ${y.host}`);
  }
  if (x.scheme !== y.scheme) differences.push(`scheme ${x.scheme} vs ${y.scheme}`);
  if (x.slash !== y.slash) differences.push('trailing slash');
  // Same parts, other text: letter case or an explicit default port.
  if (differences.length === 0) differences.push('spelling (letter case or default port)');
  return differences;
}

/**
 * The configured issuer that `iss` most likely meant: the first of
 * `configured` that differs from it only in spelling (see
 * {@link issuerSpellingDifference}), with how; `undefined` when none does.
 */
export function nearestIssuer(
  iss: string,
  configured: readonly string[],
): { readonly issuer: string; readonly differences: readonly string[] } | undefined {
  for (const issuer of configured) {
    const differences = issuerSpellingDifference(iss, issuer);
    if (differences !== undefined && differences.length > 0) return { issuer, differences };
  }
  return undefined;
}
