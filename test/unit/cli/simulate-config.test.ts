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
});
