import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { canonicalPath, MAX_PATH_LENGTH } from '../../../src/request/canonical-path.js';

const ok = (raw: string) => {
  const r = canonicalPath(raw);
  if (!r.ok) throw new Error(`${raw}: refused ${r.code} (${r.reason})`);
  return r.path;
};
const code = (raw: string) => {
  const r = canonicalPath(raw);
  return r.ok ? `ok:${r.path}` : r.code;
};

describe('canonicalPath', () => {
  it.each([
    ['/', '/'],
    ['/orders/42', '/orders/42'],
    ['/accounts/%74reasury/entries', '/accounts/treasury/entries'],
    ['/accounts/%54reasury', '/accounts/Treasury'],
    ['/a/%7e%7E', '/a/~~'],
    ['/a/%41%62', '/a/Ab'],
    ['/x/../admin', '/admin'],
    ['/./admin', '/admin'],
    ['/%2e/admin', '/admin'],
    ['/x/%2e%2e/admin', '/admin'],
    ['/x/.%2E/admin', '/admin'],
    ['/a/b/c/../../d', '/a/d'],
    ['/a///b', '/a/b'],
    ['/a/b/', '/a/b'],
    ['/a/./', '/a'],
    ['/a/..', '/'],
    ['/Orders/42', '/Orders/42'],
    ['/files/a%20b', '/files/a b'],
    ['/files/caf%C3%A9', '/files/café'],
    ['/q/a%3Fb%23c', '/q/a?b#c'],
    ['/q/%23', '/q/#'],
    ['/a/...', '/a/...'],
    ['/a/.b', '/a/.b'],
    ["/a/!$&'()*+,=:@-._~", "/a/!$&'()*+,=:@-._~"],
  ])('%s -> %s', (raw, expected) => expect(ok(raw)).toBe(expected));

  it.each([
    ['/..', 'ERR_PATH_TRAVERSAL'],
    // RFC 3986 4.2: `//x/...` is a network-path reference; WHATWG URL and
    // Node's `new URL(target, base)` read `x` as the host.
    ['//a///b', 'ERR_PATH_NETWORK_PATH'],
    ['//host/admin', 'ERR_PATH_NETWORK_PATH'],
    ['///admin', 'ERR_PATH_NETWORK_PATH'],
    ['//%61dmin', 'ERR_PATH_NETWORK_PATH'],
    ['/.//admin', 'ERR_PATH_NETWORK_PATH'],
    ['/%2e//admin', 'ERR_PATH_NETWORK_PATH'],
    ['/a/..//admin', 'ERR_PATH_NETWORK_PATH'],
    ['//', 'ERR_PATH_NETWORK_PATH'],
    ['/a/../..', 'ERR_PATH_TRAVERSAL'],
    ['/%2e%2e/admin', 'ERR_PATH_TRAVERSAL'],
    ['/a/%2F/b', 'ERR_PATH_ENCODED_SEPARATOR'],
    ['/a%2fb', 'ERR_PATH_ENCODED_SEPARATOR'],
    ['/a%5cb', 'ERR_PATH_INVALID'],
    ['/a\\b', 'ERR_PATH_INVALID'],
    ['/a%00b', 'ERR_PATH_INVALID'],
    ['/a%0d%0ab', 'ERR_PATH_INVALID'],
    ['/a\u0000', 'ERR_PATH_INVALID'],
    ['/a%7f', 'ERR_PATH_INVALID'],
    ['/a%C2%85', 'ERR_PATH_INVALID'],
    ['/a%E2%80%A8', 'ERR_PATH_INVALID'],
    ['/admin;jsessionid=1', 'ERR_PATH_INVALID'],
    ['/admin%3bx', 'ERR_PATH_INVALID'],
    ['/a%2574', 'ERR_PATH_INVALID'],
    ['/a%', 'ERR_PATH_INVALID'],
    ['/a%4', 'ERR_PATH_INVALID'],
    ['/a%zz', 'ERR_PATH_INVALID'],
    ['/a%C3', 'ERR_PATH_INVALID'],
    ['/a%FF', 'ERR_PATH_INVALID'],
    ['/café', 'ERR_PATH_INVALID'],
    ['/public#/../admin', 'ERR_PATH_INVALID'],
    ['/a b', 'ERR_PATH_INVALID'],
    ['a/b', 'ERR_PATH_INVALID'],
    ['', 'ERR_PATH_INVALID'],
    ['*', 'ERR_PATH_INVALID'],
    [`/${'a'.repeat(MAX_PATH_LENGTH)}`, 'ERR_PATH_INVALID'],
  ])('refuses %j with %s', (raw, expected) => expect(code(raw)).toBe(expected));
});

// Property: every spelling of one resource that an RFC 3986 resolver and a
// percent decoder treat as the same path gets the same canonical form, which
// is what routes, resources and the audit record read.
const UNRESERVED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
const segment = fc
  .array(fc.constantFrom(...UNRESERVED.split('')), { minLength: 1, maxLength: 6 })
  .map((cs) => cs.join(''))
  .filter((s) => s !== '.' && s !== '..');

/** Percent-encodes some characters of a segment, in random hex case. */
function respell(seg: string, picks: readonly boolean[], upper: readonly boolean[]): string {
  return [...seg]
    .map((c, i) => {
      if (!picks[i % picks.length]) return c;
      const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
      return `%${upper[i % upper.length] ? hex.toUpperCase() : hex}`;
    })
    .join('');
}

/** Another spelling of `segs`: escapes, `.` segments, `x/..` detours, doubled and trailing slashes. */
const spelling = (segs: readonly string[]) =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      fc.array(fc.constantFrom('', '.', '%2e', 'detour', 'detour-encoded', '/'), {
        minLength: segs.length + 1,
        maxLength: segs.length + 1,
      }),
      fc.boolean(),
    )
    .map(([picks, upper, noise, trailing]) => {
      let out = '';
      segs.forEach((s, i) => {
        const n = noise[i];
        if (n === '.' || n === '%2e') out += `/${n}`;
        else if (n === 'detour') out += '/junk/..';
        else if (n === 'detour-encoded') out += '/junk/%2E%2e';
        // A doubled slash anywhere but first: a leading `//` is refused (ERR_PATH_NETWORK_PATH).
        else if (n === '/' && i > 0) out += '/';
        out += `/${respell(s, picks, upper)}`;
      });
      return trailing ? `${out}/` : out;
    });

describe('canonicalPath properties', () => {
  it('gives every spelling of a path the canonical form of its plain spelling', () => {
    fc.assert(
      fc.property(
        fc
          .array(segment, { minLength: 1, maxLength: 5 })
          .chain((segs) => fc.tuple(fc.constant(segs), spelling(segs))),
        ([segs, spelled]) => {
          expect(ok(spelled)).toBe(`/${segs.join('/')}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with the WHATWG URL resolver and a percent decoder wherever it accepts a path', () => {
    const chars = [...'ab.%2e2f5c3bAF/', '%2e', '%2E', '..', '%41', '%7e', '%20'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...chars), { maxLength: 14 }).map((cs) => `/${cs.join('')}`),
        (raw) => {
          const ours = canonicalPath(raw);
          if (!ours.ok) return;
          const resolved = new URL(`http://h${raw}`).pathname;
          const theirs = resolved
            .split('/')
            .filter((s) => s !== '')
            .map((s) => decodeURIComponent(s));
          expect(ours.path).toBe(`/${theirs.join('/')}`);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never yields a path holding a dot segment, an empty segment, "\\", ";" or a control', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (tail) => {
        const r = canonicalPath(`/${tail}`);
        if (!r.ok) return;
        const segs = r.path.split('/').slice(1);
        expect(r.path === '/' || segs.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        // eslint-disable-next-line no-control-regex
        expect(r.path).not.toMatch(/[\\;\u0000-\u001f\u007f-\u009f]/);
      }),
      { numRuns: 3000 },
    );
  });
});
