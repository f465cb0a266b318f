import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { runConfigSimulate } from '../../../src/cli/simulate-config.js';
import { loadConfig } from '../../../src/config/load.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));
const NOW = Date.parse('2026-06-01T00:00:00Z');

async function simulate(
  lines: object[] | string[],
): Promise<{ code: number; out: Record<string, unknown>[] }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const chunks: string[] = [];
  output.on('data', (c: Buffer) => chunks.push(c.toString()));
  const done = runConfigSimulate(loadConfig(EXAMPLE), input, output, () => NOW);
  for (const l of lines) input.write(`${typeof l === 'string' ? l : JSON.stringify(l)}\n`);
  input.end();
  const code = await done;
  return {
    code,
    out: chunks
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const claims = (sub: string, groups: string[]) => ({
  iss: 'http://127.0.0.1:9100',
  sub,
  aud: 'rolegate-dev',
  groups,
});

describe('rolegate simulate --config (on the example config)', () => {
  it('answers one line per request with the roles and the deciding statements', async () => {
    const { code, out } = await simulate([
      { claims: claims('alice', ['readers']), method: 'GET', path: '/orders/42' },
      { claims: claims('alice', ['readers']), method: 'DELETE', path: '/orders/42' },
      {
        claims: claims('root', ['admins']),
        method: 'DELETE',
        path: '/orders/42',
        headers: { 'x-order-owner': 'root' },
      },
      {
        claims: claims('root', ['admins']),
        method: 'DELETE',
        path: '/orders/42',
        headers: { 'x-order-owner': 'bob' },
      },
      { claims: claims('eve', ['nobody']), method: 'GET', path: '/orders/42' },
    ]);
    expect(code).toBe(0);
    expect(out[0]).toMatchObject({
      decision: 'Allow',
      role: 'orders-reader',
      action: 'orders:GetOrder',
      resource: 'arn:rolegate:orders:::order/42',
    });
    expect(out[1]).toMatchObject({ decision: 'Deny', status: 403, reason: 'ERR_IMPLICIT_DENY' });
    expect(out[2]).toMatchObject({ decision: 'Allow', role: 'orders-admin' });
    expect(out[3]).toMatchObject({ decision: 'Deny', reason: 'ERR_EXPLICIT_DENY' });
    expect(out[3]?.['determining']).toContainEqual(
      expect.objectContaining({ layer: 'boundary', statement: 'DeleteOnlyOwn', effect: 'Deny' }),
    );
    expect(out[4]).toMatchObject({ decision: 'Deny', reason: 'ERR_NO_ROLE', assumableRoles: [] });
  });

  it('reports invalid lines with a catalogue code and exit status 1, and keeps going', async () => {
    const { code, out } = await simulate([
      'not json',
      JSON.stringify({ claims: { iss: 'https://unknown', sub: 'x' }, path: '/' }),
      JSON.stringify({ claims: claims('alice', ['readers']), path: '/orders/1' }),
    ]);
    expect(code).toBe(1);
    expect(out[0]).toMatchObject({ error: { code: 'ERR_INPUT_SYNTAX' } });
    // An unknown issuer is a valid question: the live server denies it, and so does simulate.
    expect(out[1]).toMatchObject({
      decision: 'Deny',
      status: 401,
      reason: 'ERR_TOKEN_ISSUER_UNKNOWN',
    });
    expect(out[2]).toMatchObject({ decision: 'Allow' });
  });

  it('explains a deny per role: trust verdict, statements by layer, missing context keys', async () => {
    const { code, out } = await simulate([
      // alice reads but may not delete: orders-admin's trust fails on jwt:groups.
      { claims: claims('alice', ['readers']), method: 'DELETE', path: '/orders/42' },
      // no groups claim at all: both trust policies miss jwt:groups (MissingContextValues).
      {
        claims: { iss: 'http://127.0.0.1:9100', sub: 'eve', aud: 'rolegate-dev' },
        method: 'GET',
        path: '/orders/42',
      },
      // the boundary's Deny needs a header the request did not send.
      { claims: claims('root', ['admins']), method: 'DELETE', path: '/orders/42' },
      { claims: claims('alice', ['readers']), method: 'GET', path: '/orders/42' },
    ]);
    expect(code).toBe(0);
    const groupsFailed = (role: string) => ({
      policy: `${role}/trust`,
      statement: '#0',
      effect: 'Allow',
      matched: false,
      failed: { element: 'Condition', operator: 'ForAnyValue:StringEquals', key: 'jwt:groups' },
    });
    const admitted = (role: string) => ({
      admitted: true,
      statements: [{ policy: `${role}/trust`, statement: '#0', effect: 'Allow', matched: true }],
      missingContextValues: [],
    });
    expect(out[0]).toMatchObject({ decision: 'Deny', reason: 'ERR_IMPLICIT_DENY' });
    expect(out[0]?.['explanation']).toEqual([
      {
        role: 'orders-reader',
        trust: admitted('orders-reader'),
        permissions: {
          decision: 'ImplicitDeny',
          evaluationError: false,
          statements: [
            {
              layer: 'guardrail',
              policy: 'orders-only',
              statement: 'AllowOrders',
              effect: 'Allow',
              matched: true,
            },
          ],
          missingContextValues: [],
        },
      },
      {
        role: 'orders-admin',
        trust: {
          admitted: false,
          statements: [groupsFailed('orders-admin')],
          missingContextValues: [],
        },
      },
    ]);
    expect(out[1]).toMatchObject({ decision: 'Deny', reason: 'ERR_NO_ROLE' });
    expect(out[1]?.['explanation']).toEqual(
      ['orders-reader', 'orders-admin'].map((role) => ({
        role,
        trust: {
          admitted: false,
          statements: [groupsFailed(role)],
          missingContextValues: ['jwt:groups'],
        },
      })),
    );
    expect(out[2]).toMatchObject({ decision: 'Deny', reason: 'ERR_EXPLICIT_DENY' });
    const admin = (out[2]?.['explanation'] as { role: string; permissions?: object }[])[1];
    expect(admin).toEqual({
      role: 'orders-admin',
      trust: admitted('orders-admin'),
      permissions: {
        decision: 'ExplicitDeny',
        evaluationError: false,
        statements: [
          {
            layer: 'guardrail',
            policy: 'orders-only',
            statement: 'AllowOrders',
            effect: 'Allow',
            matched: true,
          },
          {
            layer: 'identity',
            policy: 'manage-orders',
            statement: 'ManageOrders',
            effect: 'Allow',
            matched: true,
          },
          {
            layer: 'boundary',
            policy: 'orders-admin/boundary',
            statement: 'BoundaryOrders',
            effect: 'Allow',
            matched: true,
          },
          {
            layer: 'boundary',
            policy: 'orders-admin/boundary',
            statement: 'DeleteOnlyOwn',
            effect: 'Deny',
            matched: true,
          },
        ],
        missingContextValues: ['http:header/x-order-owner'],
      },
    });
    // An allow is not explained.
    expect(out[3]).toMatchObject({ decision: 'Allow' });
    expect(out[3]).not.toHaveProperty('explanation');
  });
});
