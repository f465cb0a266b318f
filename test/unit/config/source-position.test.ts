import { describe, expect, it } from '@jest/globals';
import { parseJsonPath, sourceMapOf } from '../../../src/config/source-position.js';

describe('parseJsonPath', () => {
  it('splits names, quoted keys and indexes', () => {
    expect(parseJsonPath('$')).toEqual([]);
    expect(parseJsonPath('$.roles[2].policies["read-all"].Statement[0]')).toEqual([
      'roles',
      2,
      'policies',
      'read-all',
      'Statement',
      0,
    ]);
    expect(parseJsonPath('$.Condition.IpAddress["aws:SourceIp"][1]')).toEqual([
      'Condition',
      'IpAddress',
      'aws:SourceIp',
      1,
    ]);
    expect(parseJsonPath('$["a\\"b"]')).toEqual(['a"b']);
  });

  it('refuses what is not a JSON path', () => {
    expect(parseJsonPath('roles[0]')).toBeUndefined();
    expect(parseJsonPath('$..x')).toBeUndefined();
    expect(parseJsonPath('$[x]')).toBeUndefined();
  });
});

describe('sourceMapOf', () => {
  const yaml = [
    'server:',
    '  grpc: { host: 127.0.0.1, port: 9001 }',
    'roles:',
    '  - name: a',
    '    policies:',
    '      "read:all":',
    '        Statement:',
    '          - Effect: Allow',
  ].join('\n');

  it('finds mapping keys and list items in YAML (1-based lines and columns)', () => {
    const map = sourceMapOf(yaml);
    expect(map.position('$')).toEqual({ line: 1, column: 1 });
    expect(map.position('$.server.grpc.port')).toEqual({ line: 2, column: 28 });
    expect(map.position('$.roles[0]')).toEqual({ line: 4, column: 5 });
    expect(map.position('$.roles[0].policies["read:all"].Statement[0].Effect')).toEqual({
      line: 8,
      column: 13,
    });
    expect(map.syntaxError).toBeUndefined();
  });

  it('falls back to the deepest element present for a missing one', () => {
    const map = sourceMapOf(yaml);
    expect(map.position('$.roles[0].trustPolicy')).toEqual({ line: 4, column: 5 });
    expect(map.position('$.roles[7]')).toEqual({ line: 3, column: 1 });
    expect(map.position('not a path')).toBeUndefined();
  });

  it('reads JSON the same way, since JSON is YAML', () => {
    const json = '{\n  "Statement": [\n    {"Effect": "Allow",\n     "Action": "x"}\n  ]\n}';
    const map = sourceMapOf(json);
    expect(map.position('$.Statement[0].Action')).toEqual({ line: 4, column: 6 });
  });

  it('gives the first syntax error position', () => {
    expect(sourceMapOf('a: [1, 2\nb: 3\n').syntaxError?.line).toBeGreaterThanOrEqual(1);
    expect(sourceMapOf('{"a": 1,,}').syntaxError).toEqual({ line: 1, column: 9 });
  });
});
