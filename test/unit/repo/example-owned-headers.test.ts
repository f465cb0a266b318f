/**
 * Every shipped proxy example clears the client's copy of every header
 * rolegate owns (the one list of src/response/owned-headers.ts, computed for
 * examples/rolegate.yaml), copies the ones rolegate writes from its answer,
 * and sends rolegate the client address and scheme the proxy itself saw
 * (X-Forwarded-For, X-Forwarded-Proto), never the client's own. A test
 * name says which example misses which header; the end-to-end suites
 * (test/e2e/front-doors-hostile.test.ts) prove the same against the real
 * proxies.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { credentialHeaderNames } from '../../../src/aws/config.js';
import { loadConfig } from '../../../src/config/load.js';
import { ownedHeaders, type OwnedHeader } from '../../../src/response/owned-headers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

const config = loadConfig(`${ROOT}examples/rolegate.yaml`).settings;
const OWNED: readonly OwnedHeader[] = ownedHeaders(config, credentialHeaderNames(config.aws));
const WRITTEN = OWNED.filter((h) => h.written);

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' ? (v as Json) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** One proxy example: what it clears before the API, and what it copies from rolegate's answer. */
interface Example {
  readonly name: string;
  /** Lower-case names whose client copy never reaches the API. */
  readonly clears: ReadonlySet<string>;
  /** Lower-case names set from rolegate's answer. */
  readonly copies: ReadonlySet<string>;
}

// ---- nginx ----------------------------------------------------------------

/** `location <match> { ... }` bodies of an nginx file (no nested blocks in them). */
function nginxLocations(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/location\s+([^{]+?)\s*\{([^}]*)\}/g)) {
    out.set((m[1] ?? '').trim(), m[2] ?? '');
  }
  return out;
}

/** `proxy_set_header Name value;` of a block, by lower-case name. */
function proxySetHeaders(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of block.matchAll(/^\s*proxy_set_header\s+(\S+)\s+(.+?);/gm)) {
    out.set((m[1] ?? '').toLowerCase(), (m[2] ?? '').trim());
  }
  return out;
}

const nginxText = read('examples/nginx/rolegate.conf').replace(/#.*$/gm, '');
const nginxBlocks = nginxLocations(nginxText);
const nginxApi = nginxBlocks.get('/') ?? '';
const nginxAuth = nginxBlocks.get('= /_rolegate') ?? '';

function nginxExample(): Example {
  const set = proxySetHeaders(nginxApi);
  // auth_request_set $var $upstream_http_<name>: a variable holding rolegate's header.
  const fromRolegate = new Map<string, string>();
  for (const m of nginxApi.matchAll(/auth_request_set\s+(\$\w+)\s+\$upstream_http_(\w+);/g)) {
    fromRolegate.set(m[1] ?? '', (m[2] ?? '').replace(/_/g, '-'));
  }
  const clears = new Set<string>();
  const copies = new Set<string>();
  for (const [name, value] of set) {
    // Either removed (empty value) or replaced by rolegate's own header of that name.
    if (value === '""') clears.add(name);
    else if (fromRolegate.get(value) === name) {
      clears.add(name);
      copies.add(name);
    }
  }
  return { name: 'examples/nginx/rolegate.conf', clears, copies };
}

// ---- Caddy ----------------------------------------------------------------

function caddyExample(): Example {
  // Comments mention directives too: read only the directives.
  const text = read('examples/caddy/Caddyfile').replace(/^\s*#.*$/gm, '');
  const forwardAuth = text.search(/^\s*forward_auth\s/m);
  const before = text.slice(0, forwardAuth);
  const clears = new Set(
    [...before.matchAll(/^\s*request_header\s+-(\S+)\s*$/gm)].map((m) =>
      (m[1] ?? '').toLowerCase(),
    ),
  );
  const end = text.indexOf('}', forwardAuth);
  const copied = [...text.slice(forwardAuth, end).matchAll(/^\s*copy_headers\s+(.+)$/gm)].flatMap(
    (m) =>
      (m[1] ?? '')
        .trim()
        .split(/\s+/)
        .map((h) => h.toLowerCase()),
  );
  // Caddy 2.6 sets a header rolegate did not send to the unexpanded
  // placeholder text: each copied header needs a matcher for that text and a
  // delete after forward_auth.
  const unsent = new Map<string, string>();
  for (const m of text.matchAll(
    /^\s*@(\S+)\s+header_regexp\s+(\S+)\s+\^\\\{http\\\.reverse_proxy\\\.header\\\.\s*$/gm,
  )) {
    unsent.set(m[1] ?? '', (m[2] ?? '').toLowerCase());
  }
  const dropped = new Set(
    [...text.slice(end).matchAll(/^\s*request_header\s+@(\S+)\s+-(\S+)\s*$/gm)]
      .filter((m) => unsent.get(m[1] ?? '') === (m[2] ?? '').toLowerCase())
      .map((m) => (m[2] ?? '').toLowerCase()),
  );
  const copies = new Set(copied.filter((h) => dropped.has(h)));
  return { name: 'examples/caddy/Caddyfile', clears, copies };
}

// ---- Traefik --------------------------------------------------------------

const traefikDynamic = obj(parse(read('examples/traefik/dynamic.yml')));
const traefikStatic = obj(parse(read('examples/traefik/traefik.yml')));
const traefikMiddlewares = obj(obj(traefikDynamic['http'])['middlewares']);
const traefikChain = list(obj(obj(obj(traefikDynamic['http'])['routers'])['api'])['middlewares']);

function traefikExample(): Example {
  const forwardAuthAt = traefikChain.findIndex(
    (m) => obj(traefikMiddlewares[String(m)])['forwardAuth'] !== undefined,
  );
  const clears = new Set<string>();
  // Only a headers middleware that runs before forwardAuth keeps a client copy from rolegate and the API.
  for (const m of traefikChain.slice(0, Math.max(forwardAuthAt, 0))) {
    const custom = obj(obj(obj(traefikMiddlewares[String(m)])['headers'])['customRequestHeaders']);
    for (const [name, value] of Object.entries(custom)) {
      if (value === '') clears.add(name.toLowerCase());
    }
  }
  const forwardAuth = obj(
    obj(traefikMiddlewares[String(traefikChain[forwardAuthAt])])['forwardAuth'],
  );
  const copies = new Set(
    list(forwardAuth['authResponseHeaders']).map((h) => String(h).toLowerCase()),
  );
  return { name: 'examples/traefik/dynamic.yml', clears, copies };
}

// ---- Envoy http_service ---------------------------------------------------

const envoyHttp = obj(parse(read('examples/envoy-http/envoy.yaml')));
const envoyHcm = obj(
  obj(
    list(
      obj(list(obj(list(obj(envoyHttp['static_resources'])['listeners'])[0])['filter_chains'])[0])[
        'filters'
      ],
    )[0],
  )['typed_config'],
);
const envoyExtAuthz = obj(
  obj(
    list(envoyHcm['http_filters']).find((f) => obj(f)['name'] === 'envoy.filters.http.ext_authz'),
  )['typed_config'],
);

/** Whether an Envoy StringMatcher list (exact, prefix, suffix, contains; ignore_case) matches `name`. */
function envoyMatches(patterns: unknown, name: string): boolean {
  return list(obj(patterns)['patterns']).some((p) => {
    const m = obj(p);
    const fold = (s: unknown) => (m['ignore_case'] === true ? String(s).toLowerCase() : String(s));
    const n = m['ignore_case'] === true ? name.toLowerCase() : name;
    if (m['exact'] !== undefined) return n === fold(m['exact']);
    if (m['prefix'] !== undefined) return n.startsWith(fold(m['prefix']));
    if (m['suffix'] !== undefined) return n.endsWith(fold(m['suffix']));
    if (m['contains'] !== undefined) return n.includes(fold(m['contains']));
    return false;
  });
}

function envoyExample(): Example {
  // rolegate removes the client copy of an owned header it does not set
  // (x-envoy-auth-headers-to-remove) only when Envoy lets it see that copy.
  const toRolegate = envoyExtAuthz['allowed_headers'];
  const upstream = obj(obj(envoyExtAuthz['http_service'])['authorization_response'])[
    'allowed_upstream_headers'
  ];
  const names = OWNED.map((h) => h.name);
  return {
    name: 'examples/envoy-http/envoy.yaml',
    clears: new Set(names.filter((n) => envoyMatches(toRolegate, n))),
    copies: new Set(names.filter((n) => envoyMatches(upstream, n))),
  };
}

const EXAMPLES: readonly Example[] = [
  nginxExample(),
  caddyExample(),
  traefikExample(),
  envoyExample(),
];

describe('the owned-header list for examples/rolegate.yaml', () => {
  it('holds identity, grant, STS credential, claim, method-override and webhook headers', () => {
    expect(OWNED.map((h) => h.name)).toEqual([
      'x-rolegate-principal',
      'x-rolegate-role',
      'x-rolegate-decision-id',
      'x-rolegate-grant-id',
      'x-rolegate-grant-expires',
      'x-rolegate-aws-access-key-id',
      'x-rolegate-aws-secret-access-key',
      'x-rolegate-aws-session-token',
      'x-rolegate-aws-expiration',
      'x-user-email',
      'x-http-method-override',
      'x-http-method',
      'x-method-override',
      'x-rolegate-event',
      'x-rolegate-signature',
    ]);
  });
});

describe.each(EXAMPLES)('$name', (example) => {
  it.each(OWNED.map((h) => [h.name]))('clears the client copy of %s', (name) => {
    expect({ example: example.name, header: name, cleared: example.clears.has(name) }).toEqual({
      example: example.name,
      header: name,
      cleared: true,
    });
  });

  it.each(WRITTEN.map((h) => [h.name]))("copies rolegate's %s to the API", (name) => {
    expect({ example: example.name, header: name, copied: example.copies.has(name) }).toEqual({
      example: example.name,
      header: name,
      copied: true,
    });
  });
});

describe('forwarded headers are the proxy’s own, never the client’s', () => {
  it('nginx: the auth location appends the peer to X-Forwarded-For, sets the scheme, drops X-Real-IP and Forwarded', () => {
    const auth = proxySetHeaders(nginxAuth);
    expect(
      Object.fromEntries(
        ['x-forwarded-for', 'x-forwarded-proto', 'x-real-ip', 'forwarded', 'x-original-uri'].map(
          (h) => [h, auth.get(h)],
        ),
      ),
    ).toEqual({
      'x-forwarded-for': '$proxy_add_x_forwarded_for',
      'x-forwarded-proto': '$scheme',
      'x-real-ip': '""',
      forwarded: '""',
      'x-original-uri': '$request_uri',
    });
  });

  it('Traefik: forwardAuth does not trust the client’s X-Forwarded-*, nor does the entry point', () => {
    const forwardAuth = obj(obj(traefikMiddlewares['rolegate'])['forwardAuth']);
    expect(forwardAuth['trustForwardHeader']).toBe(false);
    const web = obj(obj(traefikStatic['entryPoints'])['web']);
    expect(obj(web['forwardedHeaders'])['insecure']).not.toBe(true);
    expect(obj(web['forwardedHeaders'])['trustedIPs']).toBeUndefined();
  });

  it('Caddy: no trusted_proxies, so Caddy writes X-Forwarded-For and -Proto itself', () => {
    expect(read('examples/caddy/Caddyfile')).not.toMatch(/^\s*trusted_proxies\b/m);
  });

  it('Envoy http_service: Envoy is the edge and sends rolegate its X-Forwarded-For and -Proto', () => {
    expect({
      use_remote_address: envoyHcm['use_remote_address'],
      xff_num_trusted_hops: envoyHcm['xff_num_trusted_hops'],
      forwardsFor: envoyMatches(envoyExtAuthz['allowed_headers'], 'x-forwarded-for'),
      forwardsProto: envoyMatches(envoyExtAuthz['allowed_headers'], 'x-forwarded-proto'),
    }).toEqual({
      use_remote_address: true,
      xff_num_trusted_hops: 0,
      forwardsFor: true,
      forwardsProto: true,
    });
  });

  it('examples/rolegate.yaml trusts the example proxies, and only them', () => {
    expect(config.server.http.trustedProxies).toEqual(['127.0.0.1/32']);
  });
});
