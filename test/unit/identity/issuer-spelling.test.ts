import { describe, expect, it } from '@jest/globals';
import { issuerSpellingDifference, nearestIssuer } from '../../../src/identity/issuer-spelling.js';

describe('issuerSpellingDifference', () => {
  it.each<[string, string, string[] | undefined]>([
    ['http://localhost:9100', 'http://localhost:9100', []],
    ['http://localhost:9100', 'http://127.0.0.1:9100', ['host localhost vs 127.0.0.1']],
    ['http://[::1]:9100', 'http://127.0.0.1:9100', ['host [::1] vs 127.0.0.1']],
    ['https://idp.example.com', 'http://idp.example.com', ['scheme https vs http']],
    ['https://idp.example.com/', 'https://idp.example.com', ['trailing slash']],
    ['https://idp.example.com/realms/a/', 'https://idp.example.com/realms/a', ['trailing slash']],
    [
      'https://localhost:9100/',
      'http://127.0.0.1:9100',
      ['host localhost vs 127.0.0.1', 'scheme https vs http', 'trailing slash'],
    ],
    [
      'https://IDP.example.com',
      'https://idp.example.com',
      ['spelling (letter case or default port)'],
    ],
    [
      'https://idp.example.com:443',
      'https://idp.example.com',
      ['spelling (letter case or default port)'],
    ],
    // Another issuer, not another spelling.
    ['http://localhost:9101', 'http://127.0.0.1:9100', undefined],
    ['https://idp.example.com', 'https://idp.example.org', undefined],
    ['https://idp.example.com/realms/a', 'https://idp.example.com/realms/b', undefined],
    ['http://10.0.0.1:9100', 'http://127.0.0.1:9100', undefined],
    ['not a url', 'http://127.0.0.1:9100', undefined],
  ])('%s against %s', (a, b, expected) => {
    expect(issuerSpellingDifference(a, b)).toEqual(expected);
  });
});

describe('nearestIssuer', () => {
  it('finds the configured issuer a spelling meant, and none for another issuer', () => {
    const configured = ['https://accounts.example.com', 'http://127.0.0.1:9100'];
    expect(nearestIssuer('http://localhost:9100', configured)).toEqual({
      issuer: 'http://127.0.0.1:9100',
      differences: ['host localhost vs 127.0.0.1'],
    });
    expect(nearestIssuer('https://evil.example', configured)).toBeUndefined();
    // An exact match is not a "did you mean".
    expect(nearestIssuer('http://127.0.0.1:9100', configured)).toBeUndefined();
  });
});
