/**
 * rolegate configured the way docs/backstage.md tells a Backstage operator
 * to: the auth plugin as an issuer (OpenID discovery, audience `backstage`,
 * ES256), `ent` as the groups claim, and a role whose trust policy admits
 * the members of `group:default/payments`, and one for
 * `group:default/finance`.
 */
import { readFileSync } from 'node:fs';
import { webIdentityTrust } from '../../../../test/support/fixtures.js';

/** The group whose members the `payments-engineer` role trusts. */
export const PAYMENTS_GROUP = 'group:default/payments';

/** The group whose members the `ledger-reader` role trusts. */
export const FINANCE_GROUP = 'group:default/finance';

/** A role allowing `action` on `resource` to the members of `group`. */
function groupRole(issuer: string, name: string, group: string, action: string, resource: string) {
  return {
    name,
    trustPolicy: backstageGroupTrust(issuer, group),
    policies: {
      allow: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: action, Resource: resource }],
      },
    },
  };
}

/** Invoices are the payments team's; the ledger is not. */
export const BACKSTAGE_ROUTES = [
  {
    method: 'GET',
    path: '/payments/invoices/{id}',
    action: 'payments:GetInvoice',
    resource: 'arn:rolegate:payments:::invoice/{id}',
  },
  {
    method: 'DELETE',
    path: '/payments/invoices/{id}',
    action: 'payments:DeleteInvoice',
    resource: 'arn:rolegate:payments:::invoice/{id}',
  },
  {
    method: 'GET',
    path: '/ledger/entries/{id}',
    action: 'ledger:GetEntry',
    resource: 'arn:rolegate:ledger:::entry/{id}',
  },
];

/** The trust policy of a role for members of `group` signed in to Backstage at `issuer`. */
export function backstageGroupTrust(issuer: string, group: string): Record<string, unknown> {
  return webIdentityTrust(issuer, {
    // Backstage user tokens carry aud "backstage"; plugin tokens name the target plugin.
    StringEquals: { [`${issuer.replace(/^https?:\/\//, '')}:aud`]: 'backstage' },
    'ForAnyValue:StringEquals': { 'jwt:ent': [group] },
  });
}

/** The rolegate config (without listener ports) for the Backstage at `issuer`, auditing to `auditFile`. */
export function backstageRolegateConfig(
  issuer: string,
  auditFile: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    server: { shutdownDelaySeconds: 0, drainSeconds: 1 },
    issuers: [
      {
        issuer,
        audiences: ['backstage'],
        // The auth plugin signs with ES256 unless auth.identityTokenAlgorithm says otherwise.
        algorithms: ['ES256'],
        groupsClaim: 'ent',
      },
    ],
    roles: [
      groupRole(
        issuer,
        'payments-engineer',
        PAYMENTS_GROUP,
        'payments:Get*',
        'arn:rolegate:payments:::invoice/*',
      ),
      groupRole(
        issuer,
        'ledger-reader',
        FINANCE_GROUP,
        'ledger:GetEntry',
        'arn:rolegate:ledger:::entry/*',
      ),
    ],
    routes: BACKSTAGE_ROUTES,
    audit: { file: auditFile, allowSampleRate: 1 },
    ...extra,
  };
}

/** One audit record's `audit` object. */
export type AuditRecord = Record<string, unknown>;

/** The first decision record `match` accepts, once the batched writer has flushed it (within `timeoutMs`). */
export async function auditRecord(
  file: string,
  match: (r: AuditRecord) => boolean,
  timeoutMs = 10_000,
): Promise<AuditRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Decision records only: the access API's lifecycle records carry `access` instead.
    const records = readLines(file).flatMap((l) => {
      const { audit } = JSON.parse(l) as { audit?: AuditRecord };
      return audit === undefined ? [] : [audit];
    });
    const found = records.find(match);
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `no matching audit record in ${file} after ${timeoutMs} ms:\n${records.map((r) => JSON.stringify(r)).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
