/**
 * The access listener's input rules, one function at a time: where a
 * browser call comes from (Sec-Fetch-Site, Origin against Host and
 * access.origins), form fields, query parameters and strict JSON bodies,
 * each refusal with what was expected and what was found.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { RolegateError } from '../../../src/errors.js';
import {
  AccessInputError,
  admitCaller,
  checkQuery,
  crossSite,
  jsonObject,
  parseForm,
  parseStrict,
} from '../../../src/transport/http/access-input.js';

/** The refusal `run` throws, as code, expected, actual and fields. */
function refusal(run: () => unknown) {
  try {
    run();
  } catch (err) {
    if (err instanceof AccessInputError) {
      return { code: err.code, expected: err.expected, actual: err.actual, fields: err.fields };
    }
    throw err;
  }
  throw new Error('not refused');
}

describe('crossSite', () => {
  const host = { host: 'rolegate.example.com' };
  it.each([
    [{}, undefined],
    [{ 'sec-fetch-site': 'same-origin' }, undefined],
    [{ 'sec-fetch-site': 'none' }, undefined],
    [{ origin: 'https://rolegate.example.com' }, undefined],
    [{ origin: 'http://rolegate.example.com' }, undefined],
    [{ origin: 'https://rolegate.example.com', host: 'rolegate.example.com:443' }, undefined],
    [{ origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' }, undefined],
    [{ origin: 'http://[::1]:8080', host: '[::1]:8080' }, undefined],
    [{ origin: 'https://approvals.example.com' }, undefined],
  ])('lets %j through', (headers, expected) => {
    expect(crossSite({ ...host, ...headers }, ['https://approvals.example.com'])).toBe(expected);
  });

  it.each([
    [{ 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: "cross-site"'],
    [{ 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site: "same-site"'],
    [{ 'sec-fetch-site': 'same-origin, cross-site' }, 'Sec-Fetch-Site: "same-origin, cross-site"'],
    [{ origin: 'null' }, 'Origin: "null"'],
    [{ origin: 'https://evil.example' }, 'Origin: "https://evil.example"'],
    [
      { origin: 'https://rolegate.example.com.evil.example' },
      'Origin: "https://rolegate.example.com.evil.example"',
    ],
    [
      { origin: 'https://rolegate.example.com:8443' },
      'Origin: "https://rolegate.example.com:8443"',
    ],
    [
      { origin: 'https://rolegate.example.com/path' },
      'Origin: "https://rolegate.example.com/path"',
    ],
    [{ origin: 'not a url' }, 'Origin: "not a url"'],
    [
      { origin: 'https://rolegate.example.com', host: 'rolegate.example.com@evil' },
      'Origin: "https://rolegate.example.com"',
    ],
  ])('refuses %j', (headers, actual) => {
    expect(crossSite({ ...host, ...headers }, [])).toMatchObject({ actual });
  });

  it('says what it expected', () => {
    expect(crossSite({ host: 'a.test', origin: 'https://b.test' }, ['https://c.test'])).toEqual({
      expected:
        'Origin naming the Host "a.test" or one of access.origins (https://c.test) (or no Origin)',
      actual: 'Origin: "https://b.test"',
    });
  });
});

describe('form fields and query parameters', () => {
  it('takes the allowed fields once each', () => {
    const form = parseForm(Buffer.from('csrf=t&comment=a%20b'), ['csrf', 'comment', 'do']);
    expect([...form]).toEqual([
      ['csrf', 't'],
      ['comment', 'a b'],
    ]);
  });

  it('refuses unknown and repeated form fields', () => {
    expect(refusal(() => parseForm(Buffer.from('csrf=t&status=approved'), ['csrf']))).toEqual({
      code: 'ERR_ACCESS_UNKNOWN_FIELD',
      expected: 'only the form fields csrf',
      actual: 'form field "status"',
      fields: ['status'],
    });
    expect(refusal(() => parseForm(Buffer.from('csrf=a&csrf=b'), ['csrf']))).toMatchObject({
      code: 'ERR_ACCESS_INVALID',
      actual: '2 times',
    });
  });

  it('refuses unknown query parameters, naming at most 20, each cut to 64 characters', () => {
    const names = Array.from({ length: 25 }, (_, i) => `${'x'.repeat(70)}${i}`);
    const url = new URL(`http://h/p?${names.map((n) => `${n}=1`).join('&')}`);
    const r = refusal(() => checkQuery(url, []));
    expect(r.code).toBe('ERR_ACCESS_UNKNOWN_FIELD');
    expect(r.fields).toHaveLength(20);
    expect(r.fields?.[0]).toBe('x'.repeat(64));
    expect(() => checkQuery(new URL('http://h/p?status=pending'), ['status'])).not.toThrow();
  });
});

describe('strict JSON bodies', () => {
  const schema = z.strictObject({ flag: z.boolean().optional(), n: z.number().int() });

  it('parses exactly the declared fields', () => {
    expect(parseStrict(schema, jsonObject(Buffer.from('{"n":3,"flag":true}')))).toEqual({
      n: 3,
      flag: true,
    });
  });

  it('refuses unknown fields before wrong types, and never coerces', () => {
    expect(refusal(() => parseStrict(schema, { n: '3', id: 'x', status: 'y' }))).toEqual({
      code: 'ERR_ACCESS_UNKNOWN_FIELD',
      expected: 'only the fields flag, n',
      actual: 'unknown fields "id", "status"',
      fields: ['id', 'status'],
    });
    expect(refusal(() => parseStrict(schema, { n: 3, flag: 'true' }))).toMatchObject({
      code: 'ERR_ACCESS_INVALID',
      actual: 'flag is string',
    });
  });

  it.each([
    ['{', 'ERR_INPUT_SYNTAX'],
    ['\ufeff{}', 'ERR_INPUT_SYNTAX'],
    ['null', 'ERR_INPUT_SHAPE'],
    ['[1]', 'ERR_INPUT_SHAPE'],
    ['1', 'ERR_INPUT_SHAPE'],
  ])('refuses the body %j', (text, code) => {
    expect(refusal(() => jsonObject(Buffer.from(text))).code).toBe(code);
  });
});

describe('admitCaller', () => {
  const alice = { subject: 'alice' };
  const verified = async () => alice;
  const unverified = async () => {
    throw new RolegateError('ERR_TOKEN_EXPIRED');
  };
  const sameSite = { headers: { host: 'a.test', origin: 'https://a.test' } };
  const elsewhere = { headers: { host: 'a.test', origin: 'https://b.test' } };

  it('admits a verified caller from the same site', async () => {
    expect(await admitCaller(sameSite, verified, [])).toEqual({ ok: true, principal: alice });
  });

  it('refuses a call from elsewhere, naming whose credential it carried', async () => {
    expect(await admitCaller(elsewhere, verified, [])).toMatchObject({
      ok: false,
      principal: alice,
      refusal: { code: 'ERR_ACCESS_CROSS_SITE', actual: 'Origin: "https://b.test"' },
    });
  });

  it('refuses from elsewhere before a credential that does not verify', async () => {
    expect(await admitCaller(elsewhere, unverified, [])).toMatchObject({
      ok: false,
      principal: undefined,
      refusal: { code: 'ERR_ACCESS_CROSS_SITE' },
    });
  });

  it('refuses a credential that does not verify, with its code', async () => {
    expect(await admitCaller(sameSite, unverified, [])).toMatchObject({
      ok: false,
      principal: undefined,
      refusal: { code: 'ERR_TOKEN_EXPIRED' },
    });
  });
});
