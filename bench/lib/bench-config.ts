/**
 * The realistic configuration the gRPC benchmarks run rolegate with: one
 * OIDC issuer, five roles with claim-conditioned trust policies, two
 * policies each (wildcards, a policy variable, IP and numeric conditions),
 * a permissions boundary, guardrails with a Deny, and twenty routes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/compile.js';

/** A realistic config: what a mid-size API would carry. */
export function benchConfig(issuer: string, tokenCacheEntries: number): object {
  const prefix = issuer.replace(/^https?:\/\//, '');
  const services = ['orders', 'invoices', 'customers', 'inventory', 'shipping'];
  const trust = (group: string) => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: issuer },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: { [`${prefix}:aud`]: 'bench-api' },
          'ForAnyValue:StringEquals': { 'jwt:groups': [group, 'admins'] },
        },
      },
    ],
  });
  const roles = services.map((svc) => ({
    name: `${svc}-operator`,
    trustPolicy: trust(`${svc}-team`),
    policies: {
      [`${svc}-read`]: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'Read',
            Effect: 'Allow',
            Action: [`${svc}:Get*`, `${svc}:List*`],
            Resource: `arn:rolegate:${svc}:::item/*`,
          },
          {
            Sid: 'OwnWrites',
            Effect: 'Allow',
            Action: `${svc}:Put*`,
            Resource: `arn:rolegate:${svc}:::item/\${jwt:sub}/*`,
          },
          {
            Sid: 'OfficeNetwork',
            Effect: 'Deny',
            Action: `${svc}:Delete*`,
            Resource: '*',
            Condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } },
          },
        ],
      },
      [`${svc}-admin`]: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: `${svc}:*`,
            Resource: '*',
            Condition: {
              'ForAnyValue:StringEquals': { 'jwt:groups': 'admins' },
              NumericLessThanIfExists: { 'jwt:level': 5 },
            },
          },
        ],
      },
    },
    permissionsBoundary: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: services.map((s) => `${s}:*`), Resource: '*' }],
    },
  }));
  const routes = services.flatMap((svc) => [
    {
      method: 'GET',
      path: `/${svc}`,
      action: `${svc}:ListItems`,
      resource: `arn:rolegate:${svc}:::item/*`,
    },
    {
      method: 'GET',
      path: `/${svc}/{id}`,
      action: `${svc}:GetItem`,
      resource: `arn:rolegate:${svc}:::item/{id}`,
    },
    {
      method: 'PUT',
      path: `/${svc}/{id}`,
      action: `${svc}:PutItem`,
      resource: `arn:rolegate:${svc}:::item/{id}`,
    },
    {
      method: 'DELETE',
      path: `/${svc}/{id}`,
      action: `${svc}:DeleteItem`,
      resource: `arn:rolegate:${svc}:::item/{id}`,
    },
  ]);
  return {
    issuers: [{ issuer, audiences: ['bench-api'], jwksUri: issuer }],
    tokens: { cacheEntries: tokenCacheEntries },
    headers: { claims: { 'x-user-email': 'email' } },
    guardrails: {
      baseline: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: '*', Resource: '*' },
          {
            Sid: 'NoPurge',
            Effect: 'Deny',
            Action: services.map((s) => `${s}:Purge*`),
            Resource: '*',
          },
        ],
      },
    },
    roles,
    routes,
  };
}

/**
 * Serves `jwks` as a local issuer's key set on a free loopback port, writes
 * {@link benchConfig} for it (token cache of `tokenCacheEntries`) to a temp
 * file, and runs `body` with the issuer's URL and the loaded config; both
 * are removed afterwards.
 */
export async function withBenchConfig<T>(
  jwks: string,
  tokenCacheEntries: number,
  body: (issuer: string, config: LoadedConfig) => Promise<T>,
): Promise<T> {
  const idp = createServer((_req, res) => res.end(jwks));
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-bench-'));
  try {
    const file = join(dir, 'rolegate.yaml');
    writeFileSync(file, stringify(benchConfig(issuer, tokenCacheEntries)));
    return await body(issuer, loadConfig(file));
  } finally {
    idp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
