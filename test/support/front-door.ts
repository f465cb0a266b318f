/** The rolegate config and callers the HTTP front-door e2e suites (nginx, Envoy http_service) share. */
import type { JwksIssuer } from '../harness/jwks.js';
import { allowPolicy, ORDER_ROUTES, webIdentityTrust } from './fixtures.js';

/** Readers may `orders:Get*`; `root-admin` may do anything on orders. HTTP check listener on. */
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
    routes: ORDER_ROUTES,
  };
}

/** A token of `alice`, a reader. */
export function readerToken(idp: JwksIssuer): Promise<string> {
  return idp.mint({ groups: ['readers'], email: 'alice@example.com' }, { subject: 'alice' });
}
