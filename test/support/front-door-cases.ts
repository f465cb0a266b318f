/**
 * What every front-door suite (test/e2e/nginx, caddy, traefik, envoy-http)
 * asserts, written once: each case runs through the suite's proxy, and what
 * differs between proxies is data, in the door's adapter
 * (test/support/front-doors.ts: the status a client gets for rolegate's)
 * or in the suite's {@link FrontDoorTraits}. A suite's own file keeps only
 * what is specific to its proxy.
 */
import { describe, expect, it } from '@jest/globals';
import { DENY_BODY } from '../../src/response/check-response.js';
import { frontDoorOwnedHeaders, type FrontDoorBed } from './front-door-bed.js';
import { hostileRequest } from './hostile-client.js';
import { rawRequest } from './raw-http.js';

/** How a proxy differs from the others on the shared cases. */
export interface FrontDoorTraits {
  /**
   * Whether the client's requested-role header (`x-rolegate-role`) reaches
   * rolegate's check. If it does, a forged one is a real request for a role
   * (denied), so the forging case leaves it out.
   */
  readonly checkSeesRequestedRole: boolean;
  /**
   * Whether the proxy removes every inbound `x-rolegate-*` header (Envoy,
   * by prefix) or only the listed owned ones (a forged `x-rolegate-admin`
   * then reaches the upstream as sent).
   */
  readonly removesOwnedPrefix: boolean;
  /** The X-Forwarded-For case: what the client sends from, and what the upstream sees. */
  readonly forwarded: {
    /** The loopback address the client connects from. Default 127.0.0.1. */
    readonly from?: string;
    /** X-Forwarded-For at the upstream for a client that sent `203.0.113.7`. */
    readonly forwardedFor: string;
    /** X-Real-IP at the upstream for a client that sent `203.0.113.8`. */
    readonly realIp: string | undefined;
  };
  /**
   * Whether a deny reaches the client as rolegate wrote it (body and
   * decision id); nginx's auth_request answers with its own page.
   */
  readonly passesDenyResponse: boolean;
  /**
   * The shared {@link PATH_CASES} the proxy refuses itself (before any
   * check) instead of passing them on: path -> the status it answers.
   */
  readonly refusesPaths: Readonly<Record<string, number>>;
  /**
   * The shared {@link PATH_CASES} the proxy normalises itself before the
   * check: path -> the one it asks about and forwards (allowed, as a reader
   * may GET any order).
   */
  readonly normalisesPaths: Readonly<Record<string, string>>;
  /** Paths only this proxy refuses itself, with the status it answers. */
  readonly ownRefusals: readonly {
    readonly why: string;
    readonly path: string;
    readonly status: number;
  }[];
  /** What the client gets with rolegate down: a status, or any 5xx. */
  readonly whenRolegateDown: number | '5xx';
}

/** A request whose path rolegate must decide on its canonical form or refuse. */
export interface PathCase {
  readonly title: string;
  readonly method: 'GET' | 'DELETE';
  readonly path: string;
  /** rolegate's answer (the client gets the door's `clientStatus` of it). */
  readonly rolegate: number;
  /** What rolegate's audit record of it says. */
  readonly audit: Readonly<Record<string, unknown>>;
}

/** The path cases run through every door. */
export const PATH_CASES: readonly PathCase[] = [
  {
    title: 'decides an encoded spelling as its canonical path',
    method: 'DELETE',
    path: '/orders/%34%32',
    rolegate: 403,
    audit: { decision: 'deny', path: '/orders/42' },
  },
  {
    title: 'decides a dot-segment path on its canonical form, the one the upstream resolves',
    // Reader may GET /orders/{id}; /orders/x/../9 is /orders/9 for both.
    method: 'GET',
    path: '/orders/x/../9',
    rolegate: 200,
    audit: { decision: 'allow', resource: 'arn:rolegate:orders:::order/9' },
  },
  ...(
    [
      ['a path parameter', '/orders/1;x', 'ERR_PATH_INVALID'],
      ['a session path parameter', '/orders/1;jsessionid=x', 'ERR_PATH_INVALID'],
      ['an encoded control character', '/orders/1%01', 'ERR_PATH_INVALID'],
      ['an encoded separator', '/orders/1%2F..%2F..%2Fadmin', 'ERR_PATH_ENCODED_SEPARATOR'],
      ['a raw backslash', '/orders/1\\..\\x', 'ERR_PATH_INVALID'],
    ] as const
  ).map(([what, path, reason]) => ({
    title: `refuses ${what}`,
    method: 'GET' as const,
    path,
    rolegate: 400,
    audit: { decision: 'deny', reason },
  })),
];

/**
 * Registers `describe(title)` with every shared case for the bed's door,
 * then `specific` (the proxy's own tests), then the rolegate-down case
 * (last: it stops the bed's rolegate).
 */
export function describeFrontDoor(
  title: string,
  bed: FrontDoorBed,
  traits: FrontDoorTraits,
  specific: () => void = () => undefined,
): void {
  const { upstream, audit, bearer } = bed;
  const owned = frontDoorOwnedHeaders().map((h) => h.name);

  describe(title, () => {
    it('allows a reader; the identity headers reach the upstream, forged ones are gone', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/orders/42?x=1', {
        ...(await bearer()),
        'x-rolegate-principal': 'mallory',
        'x-http-method-override': 'DELETE',
      });
      expect(res.status).toBe(200);
      const [seen] = upstream.requestsTo('/orders/42');
      expect(seen?.path).toBe('/orders/42?x=1');
      expect(seen?.headers['x-rolegate-principal']).toBe('alice');
      expect(seen?.headers['x-rolegate-role']).toBe('arn:rolegate:iam:::role/orders-reader');
      expect(seen?.headers['x-user-email']).toBe('alice@example.com');
      expect(seen?.headers['x-http-method-override']).toBeUndefined();
      const id = seen?.headers['x-rolegate-decision-id'] as string;
      expect(audit.auditFor(id)).toMatchObject({
        decision: 'allow',
        action: 'orders:GetOrder',
        path: '/orders/42',
      });
    });

    it('replaces forged identity and claim headers and removes method-override ones', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/orders/7', {
        ...(await bearer()),
        'x-rolegate-principal': 'mallory',
        'x-user-email': 'mallory@example.com',
        'x-rolegate-admin': 'true',
        'x-http-method-override': 'DELETE',
      });
      expect(res.status).toBe(200);
      const [seen] = upstream.requestsTo('/orders/7');
      expect(seen?.headers['x-rolegate-principal']).toBe('alice');
      expect(seen?.headers['x-user-email']).toBe('alice@example.com');
      expect(seen?.headers['x-http-method-override']).toBeUndefined();
      // Not an owned name: only a proxy that removes the whole prefix drops it.
      expect(seen?.headers['x-rolegate-admin']).toBe(
        traits.removesOwnedPrefix ? undefined : 'true',
      );
    });

    it('lets no forged copy of any owned header reach the upstream', async () => {
      upstream.clear();
      const forged = Object.fromEntries(
        owned
          .filter((name) => !traits.checkSeesRequestedRole || name !== 'x-rolegate-role')
          .map((name) => [name, `forged-${name}`]),
      );
      const res = await rawRequest(bed.port(), 'GET', '/orders/8', {
        ...(await bearer()),
        ...forged,
      });
      expect(res.status).toBe(200);
      const [seen] = upstream.requestsTo('/orders/8');
      const reached = Object.fromEntries(
        Object.entries(seen?.headers ?? {}).filter(([name]) => owned.includes(name)),
      );
      expect(reached).toEqual({
        'x-rolegate-principal': 'alice',
        'x-rolegate-role': 'arn:rolegate:iam:::role/orders-reader',
        'x-rolegate-decision-id': expect.any(String),
        'x-user-email': 'alice@example.com',
      });
      const leaked = Object.entries(seen?.headers ?? {}).filter(([, v]) =>
        String(v).includes('forged'),
      );
      expect(leaked).toEqual([]);
      expect(seen?.headers['x-rolegate-principal']).toBe('alice');
    });

    it("hands rolegate and the API the proxy's own X-Forwarded-For and -Proto", async () => {
      upstream.clear();
      const res = await hostileRequest({
        ...(traits.forwarded.from === undefined ? {} : { from: traits.forwarded.from }),
        port: bed.port(),
        target: '/orders/9',
        headers: [
          ['Authorization', (await bearer()).authorization],
          ['X-Forwarded-For', '203.0.113.7'],
          ['X-Real-IP', '203.0.113.8'],
          ['X-Forwarded-Proto', 'https'],
        ],
      });
      expect(res.status).toBe(200);
      const [seen] = upstream.requestsTo('/orders/9');
      expect(seen?.headers['x-forwarded-for']).toBe(traits.forwarded.forwardedFor);
      expect(seen?.headers['x-forwarded-proto']).toBe('http');
      expect(seen?.headers['x-real-ip']).toBe(traits.forwarded.realIp);
      // The config trusts no proxy: rolegate takes the TCP peer, the proxy.
      const record = audit.auditFor(seen?.headers['x-rolegate-decision-id'] as string);
      expect(record).toMatchObject({ decision: 'allow', source_address: '127.0.0.1' });
    });

    it('answers 401 with RFC 6750 WWW-Authenticate without a token; the upstream sees nothing', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'GET', '/orders/1');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="rolegate"');
      expect(upstream.requests).toHaveLength(0);
    });

    it('answers 403 to a reader deleting; the upstream sees nothing', async () => {
      upstream.clear();
      const res = await rawRequest(bed.port(), 'DELETE', '/orders/1', await bearer());
      expect(res.status).toBe(403);
      expect(upstream.requests).toHaveLength(0);
      expect(audit.records().at(-1)?.['audit']).toMatchObject({
        decision: 'deny',
        reason: 'ERR_IMPLICIT_DENY',
        action: 'orders:DeleteOrder',
      });
    });

    if (traits.passesDenyResponse) {
      it("hands the client rolegate's deny body and decision id", async () => {
        upstream.clear();
        const unauthenticated = await rawRequest(bed.port(), 'GET', '/orders/1');
        expect(unauthenticated.status).toBe(401);
        expect(unauthenticated.body).toBe(DENY_BODY[401]);
        expect(typeof unauthenticated.headers['x-rolegate-decision-id']).toBe('string');
        const forbidden = await rawRequest(bed.port(), 'DELETE', '/orders/1', await bearer());
        expect(forbidden.status).toBe(403);
        expect(forbidden.body).toBe(DENY_BODY[403]);
        expect(upstream.requests).toHaveLength(0);
      });
    }

    const decided = PATH_CASES.filter(
      (c) =>
        traits.refusesPaths[c.path] === undefined && traits.normalisesPaths[c.path] === undefined,
    );
    it.each(decided.map((c) => [c.title, bed.door.clientStatus(c.rolegate), c] as const))(
      '%s: the client gets %d',
      async (_, status, c) => {
        upstream.clear();
        const res = await rawRequest(bed.port(), c.method, c.path, await bearer());
        expect(res.status).toBe(status);
        expect(upstream.requests).toHaveLength(c.rolegate < 300 ? 1 : 0);
        expect(audit.records().at(-1)?.['audit']).toMatchObject(c.audit);
      },
    );

    const refused = [
      ...PATH_CASES.flatMap((c) => {
        const status = traits.refusesPaths[c.path];
        return status === undefined
          ? []
          : [{ why: c.title, method: c.method, path: c.path, status }];
      }),
      ...traits.ownRefusals.map((r) => ({ ...r, method: 'GET' })),
    ];
    if (refused.length > 0) {
      it.each(refused.map((r) => [r.why, r] as const))(
        '%s: refused by the proxy itself before any check',
        async (_, r) => {
          upstream.clear();
          const before = audit.records().length;
          const res = await rawRequest(bed.port(), r.method, r.path, await bearer());
          expect(res.status).toBe(r.status);
          expect(upstream.requests).toHaveLength(0);
          expect(audit.records()).toHaveLength(before);
        },
      );
    }

    const normalised = PATH_CASES.flatMap((c) => {
      const to = traits.normalisesPaths[c.path];
      return to === undefined ? [] : [[c.path, to, c] as const];
    });
    if (normalised.length > 0) {
      it.each(normalised)(
        '%s: the proxy normalises it to %s before the check, which allows it',
        async (_, to, c) => {
          upstream.clear();
          const res = await rawRequest(bed.port(), c.method, c.path, await bearer());
          expect(res.status).toBe(200);
          expect(upstream.requests.map((r) => r.path)).toEqual([to]);
          expect(audit.records().at(-1)?.['audit']).toMatchObject({ decision: 'allow', path: to });
        },
      );
    }

    specific();

    const down = traits.whenRolegateDown;
    const stopped = async () => {
      await bed.rolegate().stop();
      upstream.clear();
      return rawRequest(bed.port(), 'GET', '/orders/42', await bearer());
    };
    if (down === '5xx') {
      it('rolegate down: the proxy answers a 5xx and never passes the request', async () => {
        const res = await stopped();
        expect(res.status).toBeGreaterThanOrEqual(500);
        expect(res.status).toBeLessThan(600);
        expect(upstream.requests).toHaveLength(0);
      });
    } else {
      it(`rolegate down: the proxy answers ${down} and never passes the request`, async () => {
        const res = await stopped();
        expect(res.status).toBe(down);
        expect(upstream.requests).toHaveLength(0);
      });
    }
  });
}
