import { describe, expect, it } from '@jest/globals';
import { validateConfig } from '../../../src/config/schema.js';
import { renderDenyTemplate, shapeDeny, type ShapedDeny } from '../../../src/response/deny.js';

const base401: ShapedDeny = {
  status: 401,
  headers: {
    'content-type': 'application/json',
    'x-rolegate-decision-id': 'id-1',
    'www-authenticate': 'Bearer realm="rolegate", error="invalid_token"',
  },
  body: '{"error":"unauthenticated"}',
};
const login = {
  url: 'https://login.example.com/in',
  param: 'next',
  allowedHosts: ['*.example.com'],
};

describe('shapeDeny', () => {
  it('redirects a browser to the login page with an allowed original URL', () => {
    const out = shapeDeny(
      base401,
      'id-1',
      { login },
      {
        acceptsHtml: true,
        originalUrl: 'https://app.example.com/a?b=1',
      },
    );
    expect(out.status).toBe(302);
    expect(out.headers['location']).toBe(
      'https://login.example.com/in?next=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1',
    );
    expect(out.headers['www-authenticate']).toBeUndefined();
  });

  it.each(['https://evil.test/x', 'https://example.com.evil.test/', 'https://example.com/'])(
    'never passes on a return address outside the allowed hosts: %s',
    (originalUrl) => {
      const out = shapeDeny(base401, 'id-1', { login }, { acceptsHtml: true, originalUrl });
      expect(out.headers['location']).toBe('https://login.example.com/in');
    },
  );

  it('answers an API client (no text/html) with the 401 and its WWW-Authenticate', () => {
    const out = shapeDeny(base401, 'id-1', { login }, { acceptsHtml: false });
    expect(out).toEqual(base401);
  });

  it('never reshapes a 400', () => {
    const base: ShapedDeny = { status: 400, headers: {}, body: 'x' };
    expect(shapeDeny(base, 'i', { status: 404 }, { acceptsHtml: false })).toBe(base);
  });

  it('a 404 status gets a JSON body of its own and no WWW-Authenticate', () => {
    const out = shapeDeny(base401, 'id-1', { status: 404 }, { acceptsHtml: false });
    expect(out.status).toBe(404);
    expect(out.body).toBe('{"error":"not_found","message":"not found"}');
    expect(out.headers['www-authenticate']).toBeUndefined();
  });
});

describe('renderDenyTemplate', () => {
  it('escapes each field for JSON and for HTML', () => {
    const values = { decision_id: 'd', status: 403, message: '"</script><b>' };
    expect(renderDenyTemplate('{"m":"{{message}}","s":{{status}}}', 'json', values)).toBe(
      '{"m":"\\"</script><b>","s":403}',
    );
    expect(renderDenyTemplate('<p>{{ message }}</p>', 'html', values)).toBe(
      '<p>&#34;&#60;/script&#62;&#60;b&#62;</p>',
    );
  });
});

describe('the deny options', () => {
  it('refuses unknown template fields, reserved headers and a login without hosts', () => {
    const { problems } = validateConfig({
      deny: {
        body: { format: 'json', template: '{"t":"{{token}}"}' },
        headers: { location: 'https://x', 'x-ok': 'fine' },
        login: { url: 'javascript:alert(1)', allowedHosts: [] },
      },
    });
    expect(problems.map((p) => p.path).sort()).toEqual([
      '$.deny.body.template',
      '$.deny.headers.location',
      '$.deny.login.allowedHosts',
      '$.deny.login.url',
    ]);
  });
});
