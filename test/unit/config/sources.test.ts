/**
 * What a config generation was read from: every file loadConfig read (the
 * config, `{ file: ... }` policies, issuers' `jwksFile`; never the audit
 * file it only writes), and a hash of their contents that does not depend
 * on where the files are mounted.
 */
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { configHash } from '../../../src/config/sources.js';

const policy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 'orders:Get*', Resource: '*' }],
});
const jwks = JSON.stringify({ keys: [] });
const config = stringify({
  issuers: [{ issuer: 'https://idp.invalid', audiences: ['api'], jwksFile: 'keys/jwks.json' }],
  audit: { file: 'audit.log' },
  guardrails: [{ file: 'policies/read.json' }],
  roles: [
    {
      name: 'reader',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 'sts:AssumeRoleWithWebIdentity' }],
      },
      policies: { read: { file: 'policies/read.json' } },
    },
  ],
});

/** A config directory with the config, one policy file and one key file. */
function configDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'rolegate-sources-')));
  mkdirSync(join(dir, 'policies'));
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'rolegate.yaml'), config);
  writeFileSync(join(dir, 'policies', 'read.json'), policy);
  writeFileSync(join(dir, 'keys', 'jwks.json'), jwks);
  return dir;
}

describe('config sources', () => {
  it('lists each file read once, config first, and hashes their contents in that order', () => {
    const dir = configDir();
    const { sources } = loadConfig(join(dir, 'rolegate.yaml'));
    expect(sources?.files).toEqual([
      join(dir, 'rolegate.yaml'),
      join(dir, 'keys', 'jwks.json'),
      join(dir, 'policies', 'read.json'),
    ]);
    expect(sources?.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(sources?.hash).toBe(configHash([config, jwks, policy]));
  });

  it('hashes the same files mounted elsewhere the same, and a changed referenced file differently', () => {
    const a = loadConfig(join(configDir(), 'rolegate.yaml')).sources?.hash;
    const other = configDir();
    expect(loadConfig(join(other, 'rolegate.yaml')).sources?.hash).toBe(a);
    writeFileSync(join(other, 'keys', 'jwks.json'), JSON.stringify({ keys: [] }, null, 2));
    expect(loadConfig(join(other, 'rolegate.yaml')).sources?.hash).not.toBe(a);
  });

  it('frames each text by its length, so moving bytes between files changes the hash', () => {
    expect(configHash(['ab', 'c'])).not.toBe(configHash(['a', 'bc']));
    expect(configHash(['ab', 'c'])).toBe(configHash(['ab', 'c']));
  });

  it('names on a failed load the files it read or tried to read', () => {
    const dir = configDir();
    writeFileSync(
      join(dir, 'rolegate.yaml'),
      config.replaceAll('policies/read.json', 'policies/missing.json'),
    );
    let error: unknown;
    try {
      loadConfig(join(dir, 'rolegate.yaml'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).files).toEqual([
      join(dir, 'rolegate.yaml'),
      join(dir, 'keys', 'jwks.json'),
      join(dir, 'policies', 'missing.json'),
    ]);
  });
});
