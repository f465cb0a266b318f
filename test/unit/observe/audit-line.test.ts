import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { pino } from 'pino';
import type { CheckOutcome } from '../../../src/decision/outcome.js';
import type { CompiledRole } from '../../../src/config/compile.js';
import type { Determining } from '../../../src/policy/types.js';
import { auditLine, createIsoClock } from '../../../src/observe/audit-line.js';
import { auditRecord, auditRecordJson, createAuditor } from '../../../src/observe/audit.js';
import { createAuditLogger } from '../../../src/observe/logger.js';
import type { AuthzRequest } from '../../../src/request/types.js';
import { allowOutcome, denyOutcome, request } from './fixtures.js';

/** Strings JSON must escape, and some it must not: quotes, controls, U+2028, lone surrogates, emoji. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(
    '',
    '"',
    '\\',
    '\n\t\r\b\f',
    '\u0000\u001f',
    '\u2028\u2029',
    '\ud800',
    'x\udfffy',
    '😀',
    '</script>',
  ),
);

const determining: fc.Arbitrary<Determining> = fc.record(
  {
    layer: fc.constantFrom('identity', 'boundary', 'guardrail'),
    effect: fc.constantFrom('Allow', 'Deny', 'ImplicitDeny'),
    policy: nasty,
    statement: nasty,
  },
  { requiredKeys: ['layer', 'effect'] },
) as fc.Arbitrary<Determining>;

const requestArb: fc.Arbitrary<AuthzRequest> = fc
  .record({
    requestId: nasty,
    method: fc.oneof(fc.constant(''), nasty),
    path: fc.oneof(fc.constant(''), nasty),
    sourceAddress: fc.option(fc.oneof(fc.constant(''), nasty), { nil: undefined }),
  })
  .map(({ sourceAddress, ...r }) =>
    request({ ...r, ...(sourceAddress === undefined ? {} : { sourceAddress }) }),
  )
  .map((r) => {
    if (r.sourceAddress !== undefined) return r;
    const { sourceAddress: _dropped, ...rest } = r;
    return rest as AuthzRequest;
  });

const outcomeArb: fc.Arbitrary<CheckOutcome> = fc
  .record({
    decisionId: nasty,
    allowed: fc.boolean(),
    reason: fc.constantFrom('OK', 'ERR_IMPLICIT_DENY', 'ERR_NO_ROLE'),
    principal: fc.option(fc.record({ issuer: nasty, subject: nasty }), { nil: undefined }),
    route: fc.option(fc.record({ action: nasty, resource: nasty, source: nasty }), {
      nil: undefined,
    }),
    rolesConsidered: fc.array(nasty, { maxLength: 4 }),
    role: fc.option(nasty, { nil: undefined }),
    grant: fc.option(fc.record({ id: nasty, expiresAt: fc.nat() }), { nil: undefined }),
    // Compiled statements are frozen (and their quoted form memoised): half of these are.
    determining: fc.array(
      fc.tuple(determining, fc.boolean()).map(([d, frozen]) => (frozen ? Object.freeze(d) : d)),
      { maxLength: 4 },
    ),
    invalidHeader: fc.option(nasty, { nil: undefined }),
    // An identity refusal's explanation: hostile text where a token's iss or aud goes.
    identity: fc.option(
      fc.record(
        {
          check: fc.constantFrom('issuer', 'audience', 'time'),
          message: nasty,
          found: fc.oneof(nasty, fc.array(nasty, { maxLength: 3 })),
          expected: fc.array(nasty, { maxLength: 3 }),
          didYouMean: nasty,
        },
        { requiredKeys: ['check', 'message'] },
      ),
      { nil: undefined },
    ),
  })
  .map((o) => {
    const out: Record<string, unknown> = {
      decisionId: o.decisionId,
      allowed: o.allowed,
      status: o.allowed ? 200 : 403,
      reason: o.reason,
      rolesConsidered: o.rolesConsidered,
      determining: o.determining,
    };
    if (o.principal) {
      out['principal'] = { kind: 'jwt', ...o.principal, claims: {}, federated: [] };
    }
    if (o.route) out['route'] = { ...o.route, tags: {} };
    if (o.role !== undefined) out['role'] = { name: 'r', arn: o.role } as CompiledRole;
    if (o.grant) out['grant'] = o.grant;
    if (o.invalidHeader !== undefined) out['invalidHeader'] = o.invalidHeader;
    if (o.identity !== undefined) out['explanation'] = { identity: o.identity, roles: [] };
    return out as unknown as CheckOutcome;
  });

const latency = fc.oneof(fc.double({ noNaN: false }), fc.nat(), fc.constant(-0.4));

/** A writable that keeps each line written to it. */
function capture(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, lines };
}

/** The `time` field of a line replaced, so lines written a millisecond apart compare. */
const untimed = (line: string): string =>
  line.replace(/^\{"level":30,"time":"[^"]+",/, '{"level":30,"time":"T",');

describe('the hand-written audit record', () => {
  it('is JSON.stringify of the record object, for random records with hostile strings', () => {
    fc.assert(
      fc.property(
        requestArb,
        outcomeArb,
        latency,
        fc.option(nasty, { nil: undefined }),
        (req, outcome, us, hash) => {
          const json = auditRecordJson(req, outcome, us, hash);
          expect(json).toBe(JSON.stringify(auditRecord(req, outcome, us, hash)));
          // Again: memoised statements give the same text.
          expect(auditRecordJson(req, outcome, us, hash)).toBe(json);
          expect(JSON.parse(json)).toEqual(
            JSON.parse(JSON.stringify(auditRecord(req, outcome, us, hash))),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('writes the bytes pino writes, line for line', () => {
    const fast = capture();
    const slow = capture();
    // Same options as createAuditLogger, but not made by it: the auditor goes through pino.
    const pinoLogger = pino(
      { level: 'info', base: { service: 'rolegate' }, timestamp: pino.stdTimeFunctions.isoTime },
      slow.stream,
    );
    const a = createAuditor(createAuditLogger(fast.stream), () => 1);
    const b = createAuditor(pinoLogger, () => 1);
    fc.assert(
      fc.property(requestArb, outcomeArb, latency, (req, outcome, us) => {
        a.record(req, outcome, us, 'h1');
        b.record(req, outcome, us, 'h1');
      }),
      { numRuns: 500 },
    );
    expect(fast.lines).toHaveLength(500);
    expect(fast.lines.map(untimed)).toEqual(slow.lines.map(untimed));
    for (const line of fast.lines) {
      expect(line.endsWith('}\n')).toBe(true);
      const parsed = JSON.parse(line) as { time: string };
      expect(new Date(parsed.time).toISOString()).toBe(parsed.time);
    }
  });

  it('writes the fixtures exactly as pino, allow and deny, and nothing above level info', () => {
    const fast = capture();
    const logger = createAuditLogger(fast.stream);
    const auditor = createAuditor(logger, () => 1);
    auditor.record(request(), allowOutcome(), 12.6, 'abc');
    auditor.record(request(), denyOutcome(), 3);
    const [allow, deny] = fast.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(allow).toMatchObject({
      level: 30,
      service: 'rolegate',
      msg: 'decision',
      audit: auditRecord(request(), allowOutcome(), 12.6, 'abc'),
    });
    expect(deny?.['audit']).toEqual(auditRecord(request(), denyOutcome(), 3));
    logger.level = 'warn';
    auditor.record(request(), denyOutcome(), 3);
    expect(fast.lines).toHaveLength(2);
  });

  it('carries a deny explanation the same way', () => {
    const explained: CheckOutcome = {
      ...denyOutcome(),
      explanation: {
        roles: [
          {
            role: 'orders-"reader"',
            trust: {
              admitted: false,
              statements: [
                {
                  policy: 'trust',
                  statement: '#0',
                  effect: 'Allow',
                  matched: false,
                  failed: { element: 'Condition', operator: 'StringEquals', key: 'jwt:groups' },
                },
              ],
              missingContextValues: ['jwt:\u2028'],
            },
          },
        ],
      },
    } as CheckOutcome;
    const json = auditRecordJson(request(), explained, 1);
    expect(json).toBe(JSON.stringify(auditRecord(request(), explained, 1)));
    expect(JSON.parse(json)).toHaveProperty('explanation.0.trust_statements.0.key', 'jwt:groups');
  });

  it('auditLine frames a record as pino does', () => {
    expect(auditLine('{"a":1}', '2026-01-02T03:04:05.006Z')).toBe(
      '{"level":30,"time":"2026-01-02T03:04:05.006Z","service":"rolegate","audit":{"a":1},"msg":"decision"}\n',
    );
  });
});

describe('createIsoClock', () => {
  it('agrees with toISOString, in order and out of order, across second boundaries', () => {
    const iso = createIsoClock();
    const base = Date.parse('2026-11-30T09:59:59.990Z');
    for (let ms = base; ms < base + 30; ms++) expect(iso(ms)).toBe(new Date(ms).toISOString());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        expect(iso(ms)).toBe(new Date(ms).toISOString());
        expect(iso(ms + 1)).toBe(new Date(ms + 1).toISOString());
      }),
      { numRuns: 2000 },
    );
  });
});
