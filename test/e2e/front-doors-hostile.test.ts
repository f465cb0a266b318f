/**
 * Hostile requests through every front door rolegate ships an example for
 * (nginx, Caddy, Traefik, Envoy `http_service`, Envoy gRPC with
 * `merge_slashes` on and off; test/support/front-doors.ts runs each
 * example verbatim but for ports) and directly against rolegate's HTTP
 * check endpoints (`/nginx`, `/forward`, `/envoy/...`) as a trusted proxy
 * that appends to X-Forwarded-For would ask. Each case asserts what the
 * client got, the audit record's decision and reason code, and what the
 * echo upstream received; and, whatever the expectation, that no allow
 * reached the upstream for a request its canonical form would deny.
 *
 * The classes (ids c1..c5 in the test names):
 * 1. a forged client address or scheme (X-Forwarded-For, X-Real-IP,
 *    Forwarded, X-Forwarded-Proto) from a client the policy denies by address,
 *    or on a route denied without TLS;
 * 2. IPv4 hidden in IPv6 in X-Forwarded-For, sent by a trusted load balancer;
 * 3. paths beginning with `//` (a network-path reference to URL parsers);
 * 4. the original request misnamed: nginx sending `$uri` or no
 *    X-Original-URI, absolute-form and `*` targets, original-request
 *    headers forged by the client;
 * 5. forged copies of every header rolegate owns (src/response/owned-headers.ts).
 *
 * Parties are loopback addresses (all of 127/8 is loopback on Linux): the
 * proxies reach rolegate from 127.0.0.1 and 127.0.0.9 is a load balancer in
 * front of them (both trusted), 127.0.0.66 a client the policy denies, and
 * 127.0.0.5 a client it allows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { credentialHeaderNames } from '../../src/aws/config.js';
import type { Rolegate } from '../../src/main.js';
import { headersSchema } from '../../src/request/options.js';
import { canonicalPath } from '../../src/request/canonical-path.js';
import { HEADERS_TO_REMOVE } from '../../src/response/http-response.js';
import { ownedHeaders } from '../../src/response/owned-headers.js';
import { EchoUpstream, type EchoedRequest } from '../harness/echo-upstream.js';
import { assertEnvoyImage } from '../harness/envoy.js';
import { JwksIssuer } from '../harness/jwks.js';
import {
  ADDRESSES,
  HOSTILE_HEADERS,
  hostileConfig,
  hostileReaderToken,
  nginxDoor,
  shippedDoors,
  type ForwardedForHandling,
  type FrontDoor,
} from '../support/front-doors.js';
import {
  hostileRequest,
  type HeaderLine,
  type HostileResponse,
} from '../support/hostile-client.js';
import { captureLogger } from '../support/log-capture.js';
import { startTestRolegate } from '../support/rolegate.js';

const idp = new JwksIssuer({ audience: 'app-api' });
const upstream = new EchoUpstream();
const audit = captureLogger();
const ops = captureLogger('warn');
let rolegate: Rolegate;
let token: string;

const READER_ARN = 'arn:rolegate:iam:::role/app-reader';

// ---- expectations ----------------------------------------------------------

/** What a case must come to through one door. */
type Outcome =
  /** rolegate allowed, and the upstream received exactly this request target. */
  | { readonly decision: 'allow'; readonly upstream: string }
  /** rolegate denied or refused with this status and reason; the upstream received nothing. */
  | { readonly decision: 'deny'; readonly status: 400 | 401 | 403; readonly reason: string };

const allow = (target: string): Outcome => ({ decision: 'allow', upstream: target });
const explicitDeny: Outcome = { decision: 'deny', status: 403, reason: 'ERR_EXPLICIT_DENY' };
const implicitDeny: Outcome = { decision: 'deny', status: 403, reason: 'ERR_IMPLICIT_DENY' };
const refused = (reason: string): Outcome => ({ decision: 'deny', status: 400, reason });

/** What expectations read of a door. */
interface DoorTraits {
  readonly name: string;
  readonly forwardedFor: ForwardedForHandling;
}

/**
 * Doors that merge `//` before rolegate and the upstream see the path: the
 * shipped Envoy configs (`merge_slashes: true`, after `normalize_path`
 * resolved dot segments) and Traefik (its entry points' `sanitizePath`,
 * on by default, cleans the path before any middleware). The upstream then
 * receives the merged path, so an allow of it is an allow of what the
 * upstream serves.
 */
const MERGES_SLASHES = new Set(['envoy-http', 'envoy-grpc', 'traefik']);

/** One hostile request and what it must come to, per door. */
interface Case {
  /** `c<class> <what>`: the test name. */
  readonly id: string;
  readonly from: keyof typeof ADDRESSES;
  readonly method?: string;
  readonly target: string;
  /** Header lines besides the reader's token. */
  readonly headers?: readonly HeaderLine[];
  readonly expect: (door: DoorTraits) => Outcome;
}

// ---- class 1: forged client address and scheme -----------------------------

/**
 * The hostile client names another address. An appending proxy keeps the
 * forged entries left of the address it saw, which rolegate takes (the
 * right-most entry that is not a trusted proxy); a replacing proxy drops
 * them; the gRPC door reads Envoy's peer address. Either way: 127.0.0.66,
 * denied. An entry that is not a bare address is refused where rolegate
 * sees it.
 */
const forgedAddress = (what: string, headers: readonly HeaderLine[], malformed = false): Case => ({
  id: `c1 ${what}`,
  from: 'hostile',
  target: '/docs/1',
  headers,
  expect: (door) =>
    malformed && door.forwardedFor === 'appends'
      ? refused('ERR_REQUEST_SOURCE_INVALID')
      : explicitDeny,
});

/** A client claims TLS for a route denied without it: every door says plain HTTP. */
const forgedScheme = (what: string, headers: readonly HeaderLine[]): Case => ({
  id: `c1 ${what}`,
  from: 'plain',
  target: '/secure/report',
  headers,
  expect: () => explicitDeny,
});

const CLASS_1: readonly Case[] = [
  forgedAddress('X-Forwarded-For, one line', [['X-Forwarded-For', '127.0.0.5']]),
  forgedAddress('X-Forwarded-For, a chain ending in a trusted proxy', [
    ['X-Forwarded-For', '127.0.0.5, 127.0.0.1'],
  ]),
  forgedAddress('X-Forwarded-For, several lines', [
    ['X-Forwarded-For', '127.0.0.5'],
    ['X-Forwarded-For', '127.0.0.9'],
  ]),
  forgedAddress('X-Forwarded-For, with blanks', [['X-Forwarded-For', '127.0.0.5 ,  127.0.0.9  ']]),
  forgedAddress('X-FORWARDED-FOR, upper case', [['X-FORWARDED-FOR', '127.0.0.5']]),
  forgedAddress('X-Forwarded-For naming the load balancer', [['x-forwarded-for', '127.0.0.9']]),
  forgedAddress('X-Forwarded-For with a port', [['X-Forwarded-For', '127.0.0.5:4711']], true),
  forgedAddress(
    'X-Forwarded-For, bracketed IPv6 with a port',
    [['X-Forwarded-For', '[::1]:80']],
    true,
  ),
  forgedAddress('X-Forwarded-For, a host name', [['X-Forwarded-For', 'localhost']], true),
  forgedAddress('X-Real-IP', [['X-Real-IP', '127.0.0.5']]),
  forgedAddress('Forwarded', [['Forwarded', 'for=127.0.0.5;proto=https']]),
  forgedAddress('Forwarded, quoted IPv6', [['Forwarded', 'for="[::1]";by=127.0.0.1']]),
  forgedAddress('all of them at once', [
    ['X-Forwarded-For', '127.0.0.5'],
    ['X-Real-IP', '127.0.0.5'],
    ['Forwarded', 'for=127.0.0.5'],
    ['X-Forwarded-Proto', 'https'],
  ]),
  forgedScheme('X-Forwarded-Proto: https', [['X-Forwarded-Proto', 'https']]),
  forgedScheme('X-Forwarded-Proto: HTTPS', [['X-Forwarded-Proto', 'HTTPS']]),
  forgedScheme('X-Forwarded-Proto twice', [
    ['X-Forwarded-Proto', 'https'],
    ['X-Forwarded-Proto', 'https'],
  ]),
  forgedScheme('X-Forwarded-Proto: https, http', [['X-Forwarded-Proto', 'https, http']]),
  forgedScheme('Forwarded: proto=https', [['Forwarded', 'proto=https']]),
  forgedScheme('X-Forwarded-Ssl, Front-End-Https, X-Forwarded-Scheme, X-Url-Scheme', [
    ['X-Forwarded-Ssl', 'on'],
    ['Front-End-Https', 'on'],
    ['X-Forwarded-Scheme', 'https'],
    ['X-Url-Scheme', 'https'],
  ]),
];

// ---- class 2: IPv4 hidden in IPv6, from the trusted load balancer ----------

/**
 * The load balancer (trusted) forwards a client address. Mapped and
 * RFC 6052 NAT64 forms are that IPv4 address (10.1.2.3: denied); the other
 * forms that embed IPv4 are refused. A replacing proxy does not trust the
 * balancer and writes the balancer's own address, and the gRPC door reads
 * Envoy's peer: 127.0.0.9, which nothing denies.
 */
const hiddenIpv4 = (form: string, outcome: Outcome): Case => ({
  id: `c2 X-Forwarded-For: ${form}`,
  from: 'balancer',
  target: '/docs/1',
  headers: [['X-Forwarded-For', form]],
  expect: (door) => (door.forwardedFor === 'appends' ? outcome : allow('/docs/1')),
});

const sourceInvalid = refused('ERR_REQUEST_SOURCE_INVALID');

const CLASS_2: readonly Case[] = [
  hiddenIpv4('10.1.2.3', explicitDeny),
  hiddenIpv4('::ffff:10.1.2.3', explicitDeny),
  hiddenIpv4('::ffff:a01:203', explicitDeny),
  hiddenIpv4('0:0:0:0:0:ffff:10.1.2.3', explicitDeny),
  hiddenIpv4('::FFFF:0A01:0203', explicitDeny),
  hiddenIpv4('64:ff9b::10.1.2.3', explicitDeny),
  hiddenIpv4('64:ff9b::a01:203', explicitDeny),
  hiddenIpv4('64:FF9B::A01:203', explicitDeny),
  hiddenIpv4('::10.1.2.3', sourceInvalid),
  hiddenIpv4('::a01:203', sourceInvalid),
  hiddenIpv4('::ffff:0:10.1.2.3', sourceInvalid),
  hiddenIpv4('2002:a01:203::1', sourceInvalid),
  hiddenIpv4('2002:A01:203::1', sourceInvalid),
  hiddenIpv4('2001:0:4136:e378:8000:63bf:f5fe:fdfc', sourceInvalid),
  hiddenIpv4('64:ff9b:1::a01:203', sourceInvalid),
];

// ---- class 3: paths beginning with // --------------------------------------

/**
 * Where rolegate sees the path as the client wrote it, a path that (dot
 * segments resolved) begins with an empty segment is refused. Where the
 * door merges slashes first, rolegate decides on the merged path, which is
 * the path the upstream receives.
 */
const networkPath = (target: string, merged: Outcome): Case => ({
  id: `c3 GET ${target}`,
  from: 'plain',
  target,
  expect: (door) => (MERGES_SLASHES.has(door.name) ? merged : refused('ERR_PATH_NETWORK_PATH')),
});

const CLASS_3: readonly Case[] = [
  networkPath('//host/admin', allow('/host/admin')),
  networkPath('//evil.example/admin', allow('/evil.example/admin')),
  networkPath('//evil.example/docs/1', allow('/evil.example/docs/1')),
  networkPath('///admin', implicitDeny),
  networkPath('//admin', implicitDeny),
  networkPath('//%61dmin', implicitDeny),
  networkPath('/.//admin', implicitDeny),
  networkPath('/docs/..//admin', implicitDeny),
  networkPath('/./%2e//admin', implicitDeny),
];

// ---- class 4: the original request misnamed --------------------------------

/** The client names another original request than the one it sends: decided on what it sends. */
const forgedOriginal = (what: string, headers: readonly HeaderLine[]): Case => ({
  id: `c4 GET /admin with ${what}`,
  from: 'plain',
  target: '/admin',
  headers,
  expect: () => implicitDeny,
});

const CLASS_4: readonly Case[] = [
  forgedOriginal('X-Original-URI and -Method', [
    ['X-Original-URI', '/docs/1'],
    ['X-Original-Method', 'GET'],
  ]),
  forgedOriginal('X-Forwarded-Uri, -Method and -Host', [
    ['X-Forwarded-Uri', '/docs/1'],
    ['X-Forwarded-Method', 'GET'],
    ['X-Forwarded-Host', 'docs.example'],
  ]),
  forgedOriginal('X-Envoy-Original-Path, X-Original-Url, X-Rewrite-Url', [
    ['X-Envoy-Original-Path', '/docs/1'],
    ['X-Original-Url', '/docs/1'],
    ['X-Rewrite-Url', '/docs/1'],
  ]),
];

// ---- class 5: owned headers forged -----------------------------------------

/** The hostile config's `headers` section, validated. */
const HEADERS = headersSchema.parse(HOSTILE_HEADERS);

/** The hostile config's owned headers: the one list, for its `headers` section. */
const OWNED = ownedHeaders({ headers: HEADERS }, credentialHeaderNames(undefined));

/** The header a caller asks for a role with (also the role header rolegate writes). */
const REQUESTED_ROLE = HEADERS.requestedRole;

/**
 * A forged copy of every owned header. The requested-role header asks for
 * the reader role itself (a real request, so the call is allowed through
 * doors that let rolegate see it, and the upstream must get the role's ARN
 * instead); every other value is `forged-<name>`.
 */
const forgedOwned = (spell: (name: string) => string, times = 1): HeaderLine[] =>
  OWNED.flatMap((h): HeaderLine[] =>
    // Asking for a role twice is ambiguous and denied: the role request goes once.
    h.name === REQUESTED_ROLE
      ? [[spell(h.name), 'app-reader']]
      : Array.from({ length: times }, (): HeaderLine => [spell(h.name), `forged-${h.name}`]),
  );

const ownedCase = (what: string, headers: readonly HeaderLine[]): Case => ({
  id: `c5 every owned header forged, ${what}`,
  from: 'plain',
  target: '/docs/1',
  headers,
  expect: () => allow('/docs/1'),
});

const CLASS_5: readonly Case[] = [
  ownedCase(
    'lower case',
    forgedOwned((n) => n),
  ),
  ownedCase(
    'upper case',
    forgedOwned((n) => n.toUpperCase()),
  ),
  ownedCase(
    'each twice',
    forgedOwned((n) => n, 2),
  ),
];

// ---- controls: the same requests without anything hostile ------------------

const CONTROLS: readonly Case[] = [
  {
    id: 'control: an allowed client',
    from: 'plain',
    target: '/docs/1',
    expect: () => allow('/docs/1'),
  },
  {
    id: 'control: the denied client',
    from: 'hostile',
    target: '/docs/1',
    expect: () => explicitDeny,
  },
  { id: 'control: /admin', from: 'plain', target: '/admin', expect: () => implicitDeny },
  {
    id: 'control: /secure without TLS',
    from: 'plain',
    target: '/secure/report',
    expect: () => explicitDeny,
  },
  {
    id: 'control: the load balancer forwarding an allowed client',
    from: 'balancer',
    target: '/docs/1?x=1',
    headers: [['X-Forwarded-For', '127.0.0.5']],
    expect: () => allow('/docs/1?x=1'),
  },
];

const CASES: readonly Case[] = [
  ...CONTROLS,
  ...CLASS_1,
  ...CLASS_2,
  ...CLASS_3,
  ...CLASS_4,
  ...CLASS_5,
];

// ---- running a case --------------------------------------------------------

/** What one request came to. */
interface Observed {
  readonly client: HostileResponse;
  /** The audit records written for it (none when the proxy refused on its own). */
  readonly records: readonly Record<string, unknown>[];
  /** What the upstream received (direct: the allow answer as a request). */
  readonly upstream: readonly EchoedRequest[];
}

/** Sends `c` through a proxy and collects what it came to. */
async function viaProxy(door: FrontDoor, c: Case): Promise<Observed> {
  const mark = audit.lines.length;
  upstream.clear();
  const client = await hostileRequest({
    from: ADDRESSES[c.from],
    port: door.port(),
    method: c.method ?? 'GET',
    target: c.target,
    headers: [['Authorization', `Bearer ${token}`], ...(c.headers ?? [])],
  });
  return { client, records: auditSince(mark), upstream: [...upstream.requests] };
}

function auditSince(mark: number): Record<string, unknown>[] {
  return audit.lines
    .slice(mark)
    .map((l) => (JSON.parse(l) as Record<string, unknown>)['audit'] as Record<string, unknown>)
    .filter((a) => a !== undefined);
}

/** The check endpoints, asked directly as an appending proxy at 127.0.0.1 would. */
type DirectEndpoint = 'nginx' | 'forward' | 'envoy';

/**
 * Sends `c` straight to rolegate's `/nginx`, `/forward` or `/envoy/...`
 * from the trusted proxy address, with the headers an appending proxy
 * writes: the client's X-Forwarded-For lines joined, with the client's
 * address appended; X-Forwarded-Proto `http`; the original method, URI and
 * host in the endpoint's headers, replacing any the client sent.
 */
async function direct(endpoint: DirectEndpoint, c: Case): Promise<Observed> {
  const mark = audit.lines.length;
  const method = c.method ?? 'GET';
  const lines = c.headers ?? [];
  const isForwardedFor = (name: string) => name.toLowerCase() === 'x-forwarded-for';
  const chain = [...lines.filter(([n]) => isForwardedFor(n)).map(([, v]) => v), ADDRESSES[c.from]];
  const controls: Record<DirectEndpoint, readonly string[]> = {
    nginx: ['x-original-method', 'x-original-uri', 'x-original-host'],
    forward: ['x-forwarded-method', 'x-forwarded-uri', 'x-forwarded-host'],
    envoy: [],
  };
  const dropped = new Set(['x-forwarded-for', 'x-forwarded-proto', ...controls[endpoint]]);
  const headers: HeaderLine[] = [
    ['Host', 'app.example'],
    ['Authorization', `Bearer ${token}`],
    ...lines.filter(([n]) => !dropped.has(n.toLowerCase())),
    ['X-Forwarded-For', chain.join(', ')],
    ['X-Forwarded-Proto', 'http'],
  ];
  if (endpoint === 'nginx') {
    headers.push(
      ['X-Original-Method', method],
      ['X-Original-URI', c.target],
      ['X-Original-Host', 'app.example'],
    );
  } else if (endpoint === 'forward') {
    headers.push(
      ['X-Forwarded-Method', method],
      ['X-Forwarded-Uri', c.target],
      ['X-Forwarded-Host', 'app.example'],
    );
  }
  const client = await hostileRequest({
    from: ADDRESSES.proxy,
    port: rolegate.httpPort as number,
    method: endpoint === 'envoy' ? method : 'GET',
    target: endpoint === 'envoy' ? `/envoy${c.target}` : `/${endpoint}`,
    headers,
  });
  // An allow is what a proxy would hand the upstream: the original target
  // with rolegate's headers.
  const allowed: EchoedRequest[] =
    client.status === 200 ? [{ method, path: c.target, headers: client.headers, body: '' }] : [];
  return { client, records: auditSince(mark), upstream: allowed };
}

/** What the client got, what rolegate recorded, what the upstream received: one line each. */
interface Summary {
  readonly client: number;
  /** `<decision> <reason>` of the audit record, or `none`. */
  readonly audit: string;
  readonly upstream: readonly string[];
}

/** What happened, in the terms of {@link expected}. */
function observed(seen: Observed): Summary {
  return {
    client: seen.client.status,
    // Every record, so a request decided twice shows as such.
    audit:
      seen.records.length === 0
        ? 'none'
        : seen.records.map((r) => `${String(r['decision'])} ${String(r['reason'])}`).join(' | '),
    upstream: seen.upstream.map((r) => r.path),
  };
}

/** What should have happened through `door`. */
function expected(door: { clientStatus(status: number): number }, want: Outcome): Summary {
  if (want.decision === 'allow') {
    return { client: 200, audit: 'allow OK', upstream: [want.upstream] };
  }
  return { client: door.clientStatus(want.status), audit: `deny ${want.reason}`, upstream: [] };
}

/**
 * Whatever was expected: an allow reached the upstream only for a request
 * whose canonical form is allowed: it did not come from the denied client,
 * the path the upstream received, read canonically, is the path rolegate
 * decided and is not under /admin, and the client address rolegate decided
 * on is not one the policy denies.
 */
function assertNoWrongAllow(c: Case, seen: Observed): void {
  const decided = seen.records.find((r) => r['decision'] === 'allow');
  if (decided === undefined) {
    expect(seen.upstream).toEqual([]);
    return;
  }
  expect(seen.upstream).toHaveLength(1);
  const received = seen.upstream[0]?.path ?? '';
  const q = received.indexOf('?');
  const canonical = canonicalPath(q === -1 ? received : received.slice(0, q));
  const source = String(decided['source_address'] ?? '');
  expect({
    fromDeniedClient: c.from === 'hostile',
    canonical: canonical.ok ? canonical.path : canonical.code,
    admin: /^\/admin(\/|$)/.test(canonical.ok ? canonical.path : ''),
    deniedSource: source === ADDRESSES.hostile || source.startsWith('10.'),
  }).toEqual({
    fromDeniedClient: false,
    canonical: decided['path'],
    admin: false,
    deniedSource: false,
  });
}

// ---- the doors -------------------------------------------------------------

const doors = shippedDoors();

beforeAll(async () => {
  await assertEnvoyImage();
  await Promise.all([idp.start(), upstream.start()]);
  ({ rolegate } = await startTestRolegate(hostileConfig(idp), { ops, audit }, { httpPort: 0 }));
  token = await hostileReaderToken(idp);
  const ports = { http: rolegate.httpPort as number, grpc: rolegate.grpcPort };
  // One at a time: two cores, and a failing start names its door.
  for (const door of doors) await door.start(ports, upstream.port);
}, 240_000);

afterAll(async () => {
  for (const door of doors) await door.stop();
  await rolegate?.stop().catch(() => undefined);
  await Promise.all([idp.stop(), upstream.stop()]);
});

describe.each(doors.map((door) => [door.name, door] as const))('through %s', (_name, door) => {
  it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const seen = await viaProxy(door, c);
    expect({ door: door.name, ...observed(seen) }).toEqual({
      door: door.name,
      ...expected(door, c.expect(door)),
    });
    assertNoWrongAllow(c, seen);
  });

  it('c5: no forged value of an owned header reaches the upstream; rolegate’s do', async () => {
    for (const c of CLASS_5) {
      const seen = await viaProxy(door, c);
      const [received] = seen.upstream;
      const decisionId = String(seen.records[0]?.['decision_id']);
      const owned = Object.fromEntries(
        OWNED.map((h) => [h.name, received?.headers[h.name]] as const).filter(
          ([, v]) => v !== undefined,
        ),
      );
      expect({ door: door.name, case: c.id, owned }).toEqual({
        door: door.name,
        case: c.id,
        owned: {
          'x-rolegate-principal': 'alice',
          'x-rolegate-role': READER_ARN,
          'x-rolegate-decision-id': decisionId,
          'x-user-email': 'alice@example.com',
        },
      });
    }
  });
});

describe.each(['nginx', 'forward', 'envoy'] as const)(
  'directly at /%s, as a trusted proxy',
  (endpoint) => {
    const traits: DoorTraits = { name: `direct-${endpoint}`, forwardedFor: 'appends' };
    const asIs = { clientStatus: (s: number) => s };

    it.each(CASES.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
      const seen = await direct(endpoint, c);
      expect({ door: traits.name, ...observed(seen) }).toEqual({
        door: traits.name,
        ...expected(asIs, c.expect(traits)),
      });
      assertNoWrongAllow(c, seen);
    });

    it('c5: the allow sets rolegate’s identity and names every other forged owned header for removal', async () => {
      const seen = await direct(endpoint, CLASS_5[0] as Case);
      expect(seen.client.status).toBe(200);
      const h = seen.client.headers;
      expect({
        principal: h['x-rolegate-principal'],
        role: h['x-rolegate-role'],
        email: h['x-user-email'],
        remove: String(h[HEADERS_TO_REMOVE] ?? '')
          .split(',')
          .sort(),
      }).toEqual({
        principal: 'alice',
        role: READER_ARN,
        email: 'alice@example.com',
        remove: OWNED.filter((o) => !o.written || o.kind === 'grant' || o.kind === 'credential')
          .map((o) => o.name)
          .sort(),
      });
    });
  },
);

// ---- class 1 without a proxy: the client calls rolegate itself -------------

describe('c1 directly from an untrusted peer: forwarded headers are never read', () => {
  it.each([
    ['/forward', 'hostile', '/docs/1', [['X-Forwarded-For', '127.0.0.5']]],
    ['/forward', 'hostile', '/docs/1', [['X-Forwarded-For', '127.0.0.5, 127.0.0.1']]],
    ['/nginx', 'hostile', '/docs/1', [['X-Real-IP', '127.0.0.5']]],
    ['/envoy', 'hostile', '/docs/1', [['Forwarded', 'for=127.0.0.5']]],
    ['/forward', 'plain', '/secure/report', [['X-Forwarded-Proto', 'https']]],
    ['/nginx', 'plain', '/secure/report', [['X-Forwarded-Proto', 'https']]],
    ['/envoy', 'plain', '/secure/report', [['X-Forwarded-Proto', 'https']]],
  ] as const)(
    '%s from %s: %s with %j is denied (ERR_EXPLICIT_DENY)',
    async (endpoint, from, path, forged) => {
      const mark = audit.lines.length;
      const original: HeaderLine[] =
        endpoint === '/nginx'
          ? [
              ['X-Original-Method', 'GET'],
              ['X-Original-URI', path],
            ]
          : endpoint === '/forward'
            ? [
                ['X-Forwarded-Method', 'GET'],
                ['X-Forwarded-Uri', path],
                ['X-Forwarded-Host', 'app.example'],
              ]
            : [];
      const res = await hostileRequest({
        from: ADDRESSES[from],
        port: rolegate.httpPort as number,
        target: endpoint === '/envoy' ? `/envoy${path}` : endpoint,
        headers: [['Authorization', `Bearer ${token}`], ...original, ...forged],
      });
      const [record] = auditSince(mark);
      expect({
        status: res.status,
        reason: record?.['reason'],
        source: record?.['source_address'],
      }).toEqual({
        status: 403,
        reason: 'ERR_EXPLICIT_DENY',
        source: ADDRESSES[from],
      });
    },
  );
});

describe('c1 directly from a trusted proxy: X-Forwarded-Proto is exactly one http or https', () => {
  it.each([
    ['https', [['X-Forwarded-Proto', 'https']], 200, 'allow OK'],
    ['http', [['X-Forwarded-Proto', 'http']], 403, 'deny ERR_EXPLICIT_DENY'],
    ['none', [], 403, 'deny ERR_EXPLICIT_DENY'],
    ['https, http', [['X-Forwarded-Proto', 'https, http']], 400, 'deny ERR_REQUEST_SCHEME_INVALID'],
    [
      'two lines',
      [
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Proto', 'https'],
      ],
      400,
      'deny ERR_REQUEST_SCHEME_INVALID',
    ],
    ['wss', [['X-Forwarded-Proto', 'wss']], 400, 'deny ERR_REQUEST_SCHEME_INVALID'],
  ] as const)('/forward, GET /secure/report with %s: %s', async (_what, proto, status, decided) => {
    const mark = audit.lines.length;
    const res = await hostileRequest({
      from: ADDRESSES.proxy,
      port: rolegate.httpPort as number,
      target: '/forward',
      headers: [
        ['Authorization', `Bearer ${token}`],
        ['X-Forwarded-Method', 'GET'],
        ['X-Forwarded-Uri', '/secure/report'],
        ['X-Forwarded-Host', 'app.example'],
        ['X-Forwarded-For', ADDRESSES.plain],
        ...proto,
      ],
    });
    const audited = auditSince(mark).map((r) => `${String(r['decision'])} ${String(r['reason'])}`);
    expect({ status: res.status, audit: audited }).toEqual({ status, audit: [decided] });
  });
});

// ---- class 4: nginx variants and target forms ------------------------------

describe('c4 nginx variants of the shipped example (what not to do)', () => {
  const variants = [
    {
      door: nginxDoor({
        name: 'nginx with $uri',
        edit: (t) => swap(t, 'X-Original-URI $request_uri;', 'X-Original-URI $uri;'),
      }),
      // Inside the auth subrequest $uri is the auth location itself.
      reason: 'ERR_REQUEST_ORIGINAL_IS_CHECK',
    },
    {
      door: nginxDoor({
        name: 'nginx without X-Original-URI',
        edit: (t) => swap(t, '        proxy_set_header X-Original-URI $request_uri;\n', ''),
      }),
      reason: 'ERR_REQUEST_MISSING_ORIGINAL',
    },
  ];

  beforeAll(async () => {
    const ports = { http: rolegate.httpPort as number, grpc: rolegate.grpcPort };
    for (const v of variants) await v.door.start(ports, upstream.port);
  }, 60_000);

  afterAll(async () => {
    for (const v of variants) await v.door.stop();
  });

  describe.each(variants.map((v) => [v.door.name, v] as const))('%s', (_name, v) => {
    it.each(['/docs/1', '/', '/docs/1?x=1', '/admin'])(
      'refuses GET %s (400, nginx answers 500) even though a catch-all route would allow it',
      async (target) => {
        const seen = await viaProxy(v.door, {
          id: target,
          from: 'plain',
          target,
          expect: () => allow(target),
        });
        expect(observed(seen)).toEqual(expected(v.door, refused(v.reason)));
        expect(seen.client.status).toBe(500);
      },
    );
  });
});

describe('c4 original targets no proxy sends, directly from a trusted proxy', () => {
  it.each([
    ['/nginx', 'http://x/admin', 'ERR_REQUEST_TARGET_FORM'],
    ['/nginx', 'HTTP://127.0.0.1/docs/1', 'ERR_REQUEST_TARGET_FORM'],
    ['/nginx', '*', 'ERR_REQUEST_TARGET_FORM'],
    ['/forward', 'http://x/admin', 'ERR_REQUEST_TARGET_FORM'],
    ['/forward', 'https://app.example/docs/1', 'ERR_REQUEST_TARGET_FORM'],
    ['/forward', '*', 'ERR_REQUEST_TARGET_FORM'],
    ['/nginx', '/_rolegate', 'ERR_REQUEST_ORIGINAL_IS_CHECK'],
    ['/nginx', '/_rolegate?x=1', 'ERR_REQUEST_ORIGINAL_IS_CHECK'],
  ] as const)('%s with original URI %s: 400 %s', async (endpoint, uri, reason) => {
    const mark = audit.lines.length;
    const original: HeaderLine[] =
      endpoint === '/nginx'
        ? [
            ['X-Original-Method', 'GET'],
            ['X-Original-URI', uri],
            ['X-Original-Host', 'app.example'],
          ]
        : [
            ['X-Forwarded-Method', 'GET'],
            ['X-Forwarded-Uri', uri],
            ['X-Forwarded-Host', 'app.example'],
          ];
    const res = await hostileRequest({
      from: ADDRESSES.proxy,
      port: rolegate.httpPort as number,
      target: endpoint,
      headers: [['Authorization', `Bearer ${token}`], ...original],
    });
    const [record] = auditSince(mark);
    expect({
      status: res.status,
      decision: record?.['decision'],
      reason: record?.['reason'],
    }).toEqual({
      status: 400,
      decision: 'deny',
      reason,
    });
  });
});

/** `text` with `from` replaced once; throws when the example no longer has it. */
function swap(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`nginx example: ${JSON.stringify(from)} not found`);
  return text.replace(from, to);
}
