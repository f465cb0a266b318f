/** Policy documents and routes the end-to-end suites share. */

/** A role trust policy admitting tokens of `issuer` (AWS web-identity form), under `condition` when given. */
export function webIdentityTrust(issuer: string, condition?: Record<string, unknown>) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: issuer },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ],
  };
}

/** An identity policy with one Allow statement. */
export function allowPolicy(action: string | string[], resource = '*', sid?: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        ...(sid === undefined ? {} : { Sid: sid }),
        Effect: 'Allow',
        Action: action,
        Resource: resource,
      },
    ],
  };
}

/** `GET` and `DELETE /orders/{id}` mapped to the orders service. */
export const ORDER_ROUTES = [
  {
    method: 'GET',
    path: '/orders/{id}',
    action: 'orders:GetOrder',
    resource: 'arn:rolegate:orders:::order/{id}',
  },
  {
    method: 'DELETE',
    path: '/orders/{id}',
    action: 'orders:DeleteOrder',
    resource: 'arn:rolegate:orders:::order/{id}',
  },
];

/** A guardrail that allows everything but writes (`ledger:PostEntry`) on treasury accounts. */
export function treasuryGuardrail(...extra: Record<string, unknown>[]) {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: '*', Resource: '*' },
      {
        Sid: 'NoTreasuryWrites',
        Effect: 'Deny',
        Action: 'ledger:PostEntry',
        Resource: 'arn:rolegate:ledger:::account/treasury*',
      },
      ...extra,
    ],
  };
}

/** `POST /accounts/{account}/entries` as `ledger:PostEntry` on the account's entries. */
export const LEDGER_ENTRY_ROUTE = {
  method: 'POST',
  path: '/accounts/{account}/entries',
  action: 'ledger:PostEntry',
  resource: 'arn:rolegate:ledger:::account/{account}/entries',
};
