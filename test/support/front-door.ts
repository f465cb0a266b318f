/** The rolegate config and callers the HTTP front-door e2e suites (nginx, Envoy http_service) share. */
import type { JwksIssuer } from '../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from './fixtures.js';

/**
 * Readers may `orders:Get*` on orders (not on /private, whose denies are
 * 404s with an HTML body); browsers without a token are sent to a login
 * page. HTTP check listener on.
 */
export function frontDoorConfig(idp: JwksIssuer): object {
  const prefix = idp.issuer.replace('http://', '');
  return {
    server: {
      shutdownDelaySeconds: 0,
      drainSeconds: 1,
      http: { enabled: true },
    },
    issuers: [{ issuer: idp.issuer, audiences: ['orders-api'] }],
    headers: { claims: { 'x-user-email': 'email' } },
    roles: [
      {
        name: 'orders-reader',
        trustPolicy: webIdentityTrust(idp.issuer, {
          StringEquals: { [`${prefix}:aud`]: 'orders-api' },
          'ForAnyValue:StringEquals': { 'jwt:groups': ['readers'] },
        }),
        policies: { read: allowPolicy(['orders:Get*'], 'arn:rolegate:orders:::order/*', 'Read') },
      },
    ],
    routes: [
      ...ORDER_ROUTES,
      // Denies here hide that the resource exists.
      {
        method: 'GET',
        path: '/private/{id}',
        action: 'orders:GetPrivate',
        resource: 'arn:rolegate:private:::doc/{id}',
        deny: {
          status: 404,
          message: 'no such <page>',
          body: {
            format: 'html',
            template: '<p>{{message}}</p><!-- {{decision_id}} {{status}} -->',
          },
          headers: { 'x-deny-kind': 'hidden' },
        },
      },
    ],
    // Browsers without a valid token go to the login page.
    deny: {
      login: {
        url: 'https://login.example.com/start?app=orders',
        allowedHosts: ['api.example.com'],
      },
    },
  };
}

/** A token of `alice`, a reader. */
export function readerToken(idp: JwksIssuer): Promise<string> {
  return idp.mint({ groups: ['readers'], email: 'alice@example.com' }, { subject: 'alice' });
}
