import { describe, it, expect } from '@jest/globals';
import { parsePolicyText } from '../../../src/policy/index.js';

const origin = { name: 'p', file: 'policies/p.json' };

describe('parsePolicyText', () => {
  it('reads JSON', () => {
    const r = parsePolicyText('{"Version":"2012-10-17","Statement":[]}', origin);
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({ Version: '2012-10-17', Statement: [] });
  });

  it('reads YAML, keeping the Version a string', () => {
    const r = parsePolicyText(
      'Version: 2012-10-17\nStatement:\n  - Effect: Allow\n    Action: s3:GetObject\n',
      origin,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.document).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }],
    });
  });

  it('strips a byte-order mark', () => {
    expect(parsePolicyText('\uFEFF{"a":1}', origin).document).toEqual({ a: 1 });
  });

  it('reports invalid JSON with ERR_POLICY_SYNTAX and the file', () => {
    const r = parsePolicyText('{"Version": ', origin);
    expect(r.document).toBeUndefined();
    expect(r.diagnostics).toHaveLength(1);
    expect(r.diagnostics[0]).toMatchObject({
      code: 'ERR_POLICY_SYNTAX',
      file: 'policies/p.json',
      policy: 'p',
      path: '$',
    });
    expect(r.diagnostics[0]?.message).toMatch(/invalid JSON/);
  });

  it('reports invalid YAML', () => {
    const r = parsePolicyText('a: [1, 2\nb: }', origin);
    expect(r.diagnostics[0]?.code).toBe('ERR_POLICY_SYNTAX');
    expect(r.diagnostics[0]?.message).toMatch(/invalid YAML/);
  });

  it('reports duplicate YAML keys', () => {
    expect(parsePolicyText('a: 1\na: 2\n', origin).diagnostics[0]?.code).toBe('ERR_POLICY_SYNTAX');
  });

  it('reports empty text', () => {
    expect(parsePolicyText('  \n', { name: 'p' }).diagnostics[0]).toMatchObject({
      code: 'ERR_POLICY_SYNTAX',
      path: '$',
    });
  });
});
