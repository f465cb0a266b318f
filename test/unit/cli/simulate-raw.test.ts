import { describe, it, expect } from '@jest/globals';
import { PassThrough, Readable, Writable } from 'node:stream';
import { canonicalJson, runRawSimulate } from '../../../src/cli/simulate-raw.js';

const policy = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: 's3:Get*',
      Resource: 'arn:aws:s3:::b/${aws:username}/*',
    },
    { Sid: 'NoSecrets', Effect: 'Deny', Action: '*', Resource: 'arn:aws:s3:::b/*/secret' },
  ],
};

async function simulate(
  lines: string[],
  options = {},
): Promise<{ status: number; out: unknown[] }> {
  const input = Readable.from(lines.map((l) => `${l}\n`));
  const chunks: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const status = await runRawSimulate(input, output, options);
  const out = chunks
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
  return { status, out };
}

const line = (extra: Record<string, unknown>): string =>
  JSON.stringify({
    policies: [policy],
    action: 's3:GetObject',
    resource: 'arn:aws:s3:::b/bob/k',
    context: { 'aws:username': 'bob' },
    ...extra,
  });

describe('runRawSimulate', () => {
  it('writes one decision per line, in order', async () => {
    const r = await simulate([
      line({}),
      line({ resource: 'arn:aws:s3:::b/eve/k' }),
      line({ resource: 'arn:aws:s3:::b/bob/secret' }),
    ]);
    expect(r.status).toBe(0);
    expect(r.out).toEqual([
      {
        decision: 'Allow',
        determining: [
          { layer: 'identity', effect: 'Allow', policy: 'policies[0]', statement: 'Read' },
        ],
      },
      { decision: 'ImplicitDeny', determining: [{ layer: 'identity', effect: 'ImplicitDeny' }] },
      {
        decision: 'ExplicitDeny',
        determining: [
          { layer: 'identity', effect: 'Deny', policy: 'policies[0]', statement: 'NoSecrets' },
        ],
      },
    ]);
  });

  it('applies boundaries, session policies and guardrails', async () => {
    const allowSqs = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sqs:*', Resource: '*' }],
    };
    const r = await simulate([
      line({ permissionBoundaries: [allowSqs] }),
      line({ sessionPolicy: allowSqs }),
      line({ guardrails: [allowSqs] }),
    ]);
    expect(r.out.map((o) => (o as { determining: unknown[] }).determining[0])).toEqual([
      { layer: 'boundary', effect: 'ImplicitDeny' },
      { layer: 'session', effect: 'ImplicitDeny' },
      { layer: 'guardrail', effect: 'ImplicitDeny' },
    ]);
  });

  it('evaluates trust policies with a principal', async () => {
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: 'idp' },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
    };
    const base = {
      policies: [trust],
      policyKind: 'resource',
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: 'arn:aws:iam::1:role/r',
    };
    const r = await simulate([
      JSON.stringify({ ...base, principal: { Federated: ['idp'] } }),
      JSON.stringify({ ...base, principal: { Federated: 'x' } }),
    ]);
    expect(r.out.map((o) => (o as { decision: string }).decision)).toEqual([
      'Allow',
      'ImplicitDeny',
    ]);
  });

  it('reports evaluation errors only when there are some', async () => {
    const p = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'a:b',
          Resource: '*',
          Condition: { NumericLessThan: { 'app:n': 3 } },
        },
      ],
    };
    const r = await simulate([
      JSON.stringify({ policies: [p], action: 'a:b', resource: 'x', context: { 'app:n': 'many' } }),
    ]);
    expect(r.out[0]).toMatchObject({
      decision: 'ImplicitDeny',
      errors: [{ code: 'ERR_CONTEXT_VALUE_TYPE' }],
    });
  });

  it('reports invalid lines, keeps going and exits 1; skips blank lines', async () => {
    const r = await simulate([
      'not json',
      '',
      '   ',
      '[]',
      JSON.stringify({ policies: [policy], resource: 'x' }),
      JSON.stringify({ policies: policy, action: 'a:b', resource: 'x' }),
      JSON.stringify({
        policies: [policy],
        action: 'a:b',
        resource: 'x',
        context: { k: { nested: 1 } },
      }),
      JSON.stringify({
        policies: [
          { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'bad', Resource: '*' }] },
        ],
        action: 'a:b',
        resource: 'x',
      }),
      line({}),
    ]);
    expect(r.status).toBe(1);
    expect(
      r.out.map(
        (o) =>
          (o as { error?: { code: string } }).error?.code ?? (o as { decision: string }).decision,
      ),
    ).toEqual([
      'ERR_INPUT_SYNTAX',
      'ERR_INPUT_SHAPE',
      'ERR_INPUT_SHAPE',
      'ERR_INPUT_SHAPE',
      'ERR_INPUT_SHAPE',
      'ERR_INPUT_POLICY',
      'Allow',
    ]);
    expect((r.out[5] as { error: { message: string } }).error.message).toContain(
      '$.Statement[0].Action',
    );
  });

  it('processes 100,000 lines compiling each distinct policy set once', async () => {
    let compiles = 0;
    const variants = [0, 1, 2].map((i) => ({ ...policy, Id: `v${i}` }));
    function* lines(): Generator<string> {
      for (let i = 0; i < 100_000; i++) {
        const user = i % 2 === 0 ? 'bob' : 'eve';
        yield `${JSON.stringify({ policies: [variants[i % 3]], action: 's3:GetObject', resource: 'arn:aws:s3:::b/bob/k', context: { 'aws:username': user } })}\n`;
      }
    }
    let count = 0;
    let allowed = 0;
    let pending = '';
    const output = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        pending += chunk.toString();
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          count++;
          if (pending.startsWith('{"decision":"Allow"')) allowed++;
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
        setImmediate(cb); // a slow consumer: exercises backpressure
      },
    });
    const status = await runRawSimulate(Readable.from(lines()), output, {
      onCompile: () => compiles++,
    });
    expect(status).toBe(0);
    expect(count).toBe(100_000);
    expect(allowed).toBe(50_000);
    expect(compiles).toBe(3);
  }, 120_000);

  it('evicts least recently used sets beyond the cache size', async () => {
    let compiles = 0;
    const a = line({});
    const b = line({ policies: [{ ...policy, Id: 'b' }] });
    const c = line({ policies: [{ ...policy, Id: 'c' }] });
    await simulate([a, b, a, c, a, b], { cacheSize: 2, onCompile: () => compiles++ });
    // a, b compiled; a hit; c compiled (evicts b); a hit; b compiled again.
    expect(compiles).toBe(4);
  });

  it('canonical JSON ignores key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(
      canonicalJson({ a: [{ c: 3, d: 2 }], b: 1 }),
    );
  });

  it('works with a PassThrough output', async () => {
    const out = new PassThrough();
    const status = await runRawSimulate(Readable.from([`${line({})}\n`]), out);
    expect(status).toBe(0);
    expect(JSON.parse(String(out.read()))).toMatchObject({ decision: 'Allow' });
  });
});
