/**
 * A config with a canary secret in every field that bears one, for the
 * tests of `/config` (the running config, redacted): each canary is a
 * distinct string, so a failure names the field that leaked.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every secret the config carries, by where it sits. */
export const CANARIES = {
  hmacSecretValue: 'canary-hmac-secret-value-0123456789abcdef',
  jwkPrivateExponent: 'canary-jwk-private-exponent',
  jwkPrivatePrime: 'canary-jwk-private-prime',
  jwkSymmetricKey: 'canary-jwk-symmetric-key',
  jwksUriPassword: 'canary-jwks-uri-password',
  jwksUriQuery: 'canary-jwks-uri-query',
  webhookSecretValue: 'canary-webhook-secret-value',
  webhookUrlPassword: 'canary-webhook-url-password',
  webhookUrlQuery: 'canary-webhook-url-query',
  storeUrlPassword: 'canary-store-url-password',
  awsEndpointPassword: 'canary-aws-endpoint-password',
  originPassword: 'canary-origin-password',
  loginUrlQuery: 'canary-login-url-query',
  denyHeaderValue: 'canary-deny-header-value',
  denyTemplate: 'canary-deny-template',
  policyCondition: 'canary-policy-condition',
} as const;

/** The environment variables the config names, holding canaries (never read by the dump). */
export const CANARY_ENV = {
  ROLEGATE_TEST_CANARY_HMAC: CANARIES.hmacSecretValue,
  ROLEGATE_TEST_CANARY_WEBHOOK: CANARIES.webhookSecretValue,
  ROLEGATE_TEST_CANARY_STORE_URL: `postgres://rolegate:${CANARIES.storeUrlPassword}@db.example.invalid/rolegate`,
} as const;

/** The key ids of the `jwksFile` issuer's keys (public ids: shown). */
export const FILE_KIDS = ['file-key-rsa', 'file-key-oct'] as const;

/** The issuer whose keys come from `jwksFile` (and that also has an HMAC secret). */
export const FILE_ISSUER = 'https://hmac.example.invalid';

/** The issuer whose `jwksUri` carries credentials and a query. */
export const CREDENTIAL_URL_ISSUER = 'https://credentials.example.invalid';

/**
 * Writes `keys.json` (private key parts included) into `dir`, and returns
 * the config (YAML-able) whose `jwksFile` names it by its absolute path. `issuer` is the first
 * issuer (a real one in integration tests); its `jwksUri` is optional.
 */
export function canaryConfig(
  dir: string,
  issuer: { readonly issuer: string; readonly jwksUri?: string },
): Record<string, unknown> {
  writeFileSync(
    join(dir, 'keys.json'),
    JSON.stringify({
      keys: [
        {
          kty: 'RSA',
          kid: FILE_KIDS[0],
          n: 'sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw',
          e: 'AQAB',
          d: CANARIES.jwkPrivateExponent,
          p: CANARIES.jwkPrivatePrime,
        },
        { kty: 'oct', kid: FILE_KIDS[1], k: CANARIES.jwkSymmetricKey },
      ],
    }),
  );
  const audiences = ['rolegate-test'];
  return {
    issuers: [
      { ...issuer, audiences },
      {
        issuer: FILE_ISSUER,
        audiences,
        // Absolute: the config may be written to another directory (startTestRolegate).
        jwksFile: join(dir, 'keys.json'),
        hmacSecretEnv: 'ROLEGATE_TEST_CANARY_HMAC',
        algorithms: ['RS256', 'HS256'],
      },
      {
        issuer: CREDENTIAL_URL_ISSUER,
        audiences,
        jwksUri: `https://jwks-user:${CANARIES.jwksUriPassword}@keys.example.invalid/jwks.json?api_key=${CANARIES.jwksUriQuery}`,
      },
    ],
    roles: [
      {
        name: 'reader',
        trustPolicy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: issuer.issuer },
              Action: 'sts:AssumeRoleWithWebIdentity',
              Condition: { StringEquals: { 'jwt:team': CANARIES.policyCondition } },
            },
          ],
        },
        policies: {
          read: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 'orders:Get*', Resource: '*' }],
          },
        },
      },
    ],
    routes: [
      { method: 'GET', path: '/orders/{id}', action: 'orders:GetOrder', resource: 'order/{id}' },
    ],
    deny: {
      headers: { 'x-help': CANARIES.denyHeaderValue },
      body: { format: 'json', template: `{"m":"{{message}}","c":"${CANARIES.denyTemplate}"}` },
      login: {
        url: `https://login.example.invalid/start?client_secret=${CANARIES.loginUrlQuery}`,
        allowedHosts: ['app.example.invalid'],
      },
    },
    aws: {
      region: 'eu-west-1',
      endpoint: `https://aws-user:${CANARIES.awsEndpointPassword}@aws.example.invalid`,
    },
    access: {
      store: { kind: 'postgres', urlEnv: 'ROLEGATE_TEST_CANARY_STORE_URL' },
      origins: [`https://origin-user:${CANARIES.originPassword}@approvals.example.invalid`],
      webhooks: [
        {
          url: `https://hook-user:${CANARIES.webhookUrlPassword}@hooks.example.invalid/rolegate?token=${CANARIES.webhookUrlQuery}`,
          secretEnv: 'ROLEGATE_TEST_CANARY_WEBHOOK',
        },
      ],
    },
  };
}

/** The canaries found in `text` (none, for a dump that redacts). */
export function leakedCanaries(text: string): string[] {
  return Object.entries(CANARIES)
    .filter(([, canary]) => text.includes(canary))
    .map(([field]) => field);
}
