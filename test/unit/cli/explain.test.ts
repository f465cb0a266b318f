import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { readAuditFiles } from '../../../src/cli/audit-files.js';
import { encodePath, replayDecision } from '../../../src/cli/explain-replay.js';
import { decideClaims, type SimulateRequest } from '../../../src/cli/simulate-config.js';
import { loadConfig } from '../../../src/config/load.js';
import { ERROR_CATALOGUE } from '../../../src/errors.js';
import { auditRecordJson } from '../../../src/observe/audit.js';
import { auditLine } from '../../../src/observe/audit-line.js';
import { cloudTrailRecord } from '../../../src/observe/cloudtrail.js';
import { canonicalRequest } from '../../../src/request/normalize.js';
import { lines, runCli } from './cli-io.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/rolegate.yaml', import.meta.url));
const example = loadConfig(EXAMPLE);
const HASH = example.sources?.hash ?? '';
const ISSUER = 'http://127.0.0.1:9100';
/** The recorded time: every record of these tests was decided at it (no clock is read). */
const AT = '2026-06-01T09:00:00.000Z';
const AT_MS = Date.parse(AT);
const READER_CLAIMS = { iss: ISSUER, sub: 'alice', aud: 'rolegate-dev', groups: ['readers'] };

function input(method: string, path: string, host = 'orders.test'): SimulateRequest {
  return { method, path, host, headers: {}, sourceIp: '10.0.0.7' };
}

/** One decision by the example configuration, as the audit line `serve` writes for it. */
function decided(id: string, claims: Record<string, unknown>, req: SimulateRequest): string {
  const { request, outcome } = decideClaims(claims, req, example, AT_MS);
  return auditLine(auditRecordJson(request, { ...outcome, decisionId: id }, 40, HASH), AT);
}

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-explain-')), name);
  writeFileSync(file, text);
  return file;
}

const TOKEN_EXPIRED = JSON.stringify({
  level: 30,
  time: AT,
  service: 'rolegate',
  audit: {
    decision_id: 'd-expired',
    request_id: '',
    config_hash: HASH,
    method: 'GET',
    path: '/orders/1',
    roles_considered: [],
    decision: 'deny',
    reason: 'ERR_TOKEN_EXPIRED',
    determining: [],
    latency_us: 3,
  },
  msg: 'decision',
});

/** The audit file of these tests: four decisions, an operational line and a torn line. */
const AUDIT = tempFile(
  'audit.jsonl',
  [
    decided('d-allow', READER_CLAIMS, input('GET', '/orders/42')),
    decided(
      'd-norole',
      { iss: ISSUER, sub: 'bob', aud: 'rolegate-dev' },
      input('GET', '/orders/42'),
    ),
    '{"level":30,"time":"2026-06-01T09:00:00.000Z","service":"rolegate","msg":"rolegate serving"}\n',
    decided('d-refused', READER_CLAIMS, input('GET', '/orders/%2e%2e/%2e%2e')),
    `${TOKEN_EXPIRED}\n`,
    '{"level":30,"time":"2026-06-01T09:0',
  ].join(''),
);

/** The example configuration with read-orders narrowed to ListOrders: another hash, another answer. */
const NARROWED = tempFile(
  'rolegate.yaml',
  readFileSync(EXAMPLE, 'utf8').replace(
    "Action: ['orders:Get*', 'orders:List*']",
    "Action: ['orders:List*']",
  ),
);
const NARROWED_HASH = loadConfig(NARROWED).sources?.hash ?? '';

describe('rolegate explain: finding the decision', () => {
  it('prints a deny with the explanation its record keeps', async () => {
    const run = await runCli(['explain', 'd-norole', '--audit', AUDIT]);
    expect(run.err).toBe('');
    expect(run.status).toBe(0);
    expect(lines(run.out)).toEqual([
      `Decision d-norole (${AUDIT} line 2, ${AT})`,
      '  decision: deny ERR_NO_ROLE',
      '  request:  GET /orders/42 from 10.0.0.7',
      `  caller:   bob (issuer ${ISSUER})`,
      '  route:    route[1]: orders:GetOrder on arn:rolegate:orders:::order/42',
      '  roles considered: none',
      '  determining: none',
      `  config:   ${HASH}`,
      '  why:',
      '    role orders-reader: trust denied',
      '      trust orders-reader/trust/#0 (Allow) did not apply: Condition ForAnyValue:StringEquals jwt:groups',
      '      missing context keys: jwt:groups',
      '    role orders-admin: trust denied',
      '      trust orders-admin/trust/#0 (Allow) did not apply: Condition ForAnyValue:StringEquals jwt:groups',
      '      missing context keys: jwt:groups',
    ]);
  });

  it('an allow has no explanation to print; --format json prints the record as written', async () => {
    const text = await runCli(['explain', 'd-allow', '--audit', AUDIT]);
    expect(text.out).toContain(
      '  decision: allow OK (role arn:rolegate:iam:::role/orders-reader)\n',
    );
    expect(text.out).not.toContain('why:');
    const json = await runCli(['explain', 'd-allow', '--audit', AUDIT, '-o', 'json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({
      decision_id: 'd-allow',
      file: AUDIT,
      line: 1,
      time: AT,
      format: 'rolegate',
      matches: 1,
      record: { decision_id: 'd-allow', decision: 'allow', config_hash: HASH, subject: 'alice' },
    });
  });

  it('an id that is not there: exit 1, ERR_DECISION_NOT_FOUND with what was read', async () => {
    const run = await runCli(['explain', 'd-missing', '--audit', AUDIT]);
    expect(run.status).toBe(1);
    expect(run.out).toBe('');
    expect(lines(run.err)).toEqual([
      'rolegate explain: ERR_DECISION_NOT_FOUND: no decision record has id d-missing: read 6 lines in 1 file: 4 decision records, 0 shadow disagreements, 2 skipped (1 not JSON, 1 not an audit record) (check the id; allows may be sampled out (audit.allowSampleRate), and each replica writes its own audit file: give every one with --audit)',
    ]);
  });

  it('files without a decision record: exit 1, ERR_AUDIT_EMPTY, not "not found"', async () => {
    const ops = tempFile('ops.log', '{"level":30,"msg":"rolegate serving"}\nplain text\n');
    const run = await runCli(['explain', 'd-allow', '--audit', ops]);
    expect(run.status).toBe(1);
    expect(lines(run.err)).toEqual([
      `rolegate explain: ERR_AUDIT_EMPTY: no decision record in ${ops}: 2 lines read: 2 skipped (1 not JSON, 1 not an audit record) (give the JSON Lines file that audit.file names (or rolegate serve's standard output when it names none), not the operational log)`,
    ]);
  });

  it.each([
    [['explain', '--audit', 'a.jsonl'], 'missing DECISION_ID'],
    [['explain', 'a', 'b', '--audit', 'a.jsonl'], 'explain takes one DECISION_ID'],
    [['explain', 'd-1'], 'missing required flag --audit FILE'],
    [['explain', 'd-1', '--audit', 'a', '-o', 'yaml'], '--format must be text or json, not "yaml"'],
    [
      ['explain', 'd-1', '--audit', 'a', '--claims', '{"aud":"x"}'],
      '--claims is for the replay: give --config FILE too',
    ],
    [
      ['explain', 'd-1', '--audit', 'a', '-c', EXAMPLE, '--claims', '{"sub":"x"}'],
      '--claims adds claims to the recorded iss and sub; leave those out',
    ],
    [
      ['explain', 'd-1', '--audit', 'a', '-c', EXAMPLE, '--claims', '[1]'],
      '--claims must be a JSON object',
    ],
    [
      ['explain', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.sig', '--audit', 'a'],
      'DECISION_ID looks like a token, so it is not shown; give a decision id',
    ],
  ])('%j is a usage error', async (argv, message) => {
    const run = await runCli(argv);
    expect(run.status).toBe(2);
    expect(lines(run.err)).toEqual([
      `rolegate explain: ERR_USAGE: ${message} (run 'rolegate explain --help')`,
    ]);
  });
});

describe('rolegate explain --config: the replay', () => {
  it('the configuration that decided decides the same', async () => {
    const run = await runCli(['explain', 'd-norole', '--audit', AUDIT, '--config', EXAMPLE]);
    expect(run.status).toBe(0);
    const out = lines(run.out);
    expect(out).toContain(
      `Replayed against ${EXAMPLE} (config hash ${HASH}: the configuration that decided)`,
    );
    expect(out).toContain(
      `  replayed:     GET /orders/42, host localhost, from 10.0.0.7, claims iss, sub, at ${AT}`,
    );
    expect(out).toContain(
      '  not replayed: claims other than iss and sub (the audit record never keeps claim values; give them with --claims JSON); the host (not recorded; replayed as localhost); request headers and the query string (the audit record keeps no header value); whether the connection used TLS (replayed as plain HTTP)',
    );
    expect(out.at(-1)).toBe("Same: today's configuration decides deny ERR_NO_ROLE, as recorded");
  });

  it('cannot tell when the answer differs and the configuration reads claims the record does not keep', async () => {
    const run = await runCli(['explain', 'd-allow', '--audit', AUDIT, '-c', EXAMPLE]);
    expect(run.status).toBe(0);
    expect(lines(run.out).at(-1)).toBe(
      'Cannot tell: recorded allow OK (role arn:rolegate:iam:::role/orders-reader), replayed deny ERR_NO_ROLE, but the configuration reads 127.0.0.1:9100:aud, jwt:groups, which the replay does not have',
    );
    // Given the claims, the replay has what the decision read.
    const given = await runCli([
      'explain',
      'd-allow',
      '--audit',
      AUDIT,
      '-c',
      EXAMPLE,
      '--claims',
      '{"aud":"rolegate-dev","groups":["readers"]}',
    ]);
    expect(lines(given.out)).toContain(
      `  replayed:     GET /orders/42, host localhost, from 10.0.0.7, claims aud, groups, iss, sub, at ${AT}`,
    );
    expect(lines(given.out).at(-1)).toBe(
      "Same: today's configuration decides allow OK (role arn:rolegate:iam:::role/orders-reader), as recorded",
    );
  });

  it('another configuration: names both hashes, replays anyway, says what differs and why', async () => {
    const run = await runCli([
      'explain',
      'd-allow',
      '--audit',
      AUDIT,
      '-c',
      NARROWED,
      '--claims',
      '{"aud":"rolegate-dev","groups":["readers"]}',
    ]);
    expect(run.status).toBe(0);
    const out = lines(run.out);
    expect(NARROWED_HASH).not.toBe(HASH);
    expect(out).toContain(
      `Replayed against ${NARROWED} (config hash ${NARROWED_HASH}; the decision was made by ${HASH}: a different configuration, replayed anyway)`,
    );
    expect(out).toContain('    decision: deny ERR_IMPLICIT_DENY');
    expect(out).toContain('      role orders-reader: trust admitted');
    expect(out.at(-1)).toBe(
      'Differs: recorded allow OK (role arn:rolegate:iam:::role/orders-reader), today deny ERR_IMPLICIT_DENY',
    );
  });

  it('--format json carries the replay: hashes, what was replayed, today in the record shape, the verdict', async () => {
    const run = await runCli([
      'explain',
      'd-allow',
      '--audit',
      AUDIT,
      '-c',
      NARROWED,
      '--claims',
      '{"aud":"rolegate-dev","groups":["readers"]}',
      '--format',
      'json',
    ]);
    const result = JSON.parse(run.out) as { replay: Record<string, unknown> };
    expect(result.replay).toMatchObject({
      config: NARROWED,
      configHash: NARROWED_HASH,
      recordedConfigHash: HASH,
      sameConfig: false,
      request: { method: 'GET', path: '/orders/42', issuer: ISSUER, subject: 'alice' },
      readsUnrecorded: [],
      today: {
        config_hash: NARROWED_HASH,
        decision: 'deny',
        reason: 'ERR_IMPLICIT_DENY',
        roles_considered: ['orders-reader'],
      },
      verdict: 'differs',
    });
    // Claim names only: a value given with --claims is never printed.
    expect(run.out).not.toContain('rolegate-dev');
  });

  it('a request refused before it was read, or a refused token, cannot be replayed', async () => {
    const refused = await runCli(['explain', 'd-refused', '--audit', AUDIT, '-c', EXAMPLE]);
    expect(refused.status).toBe(0);
    expect(lines(refused.out).at(-1)).toBe(
      'Not replayable: the request was refused before it could be read (ERR_PATH_TRAVERSAL), and the record leaves out what it could not read',
    );
    const expired = await runCli(['explain', 'd-expired', '--audit', AUDIT, '-c', EXAMPLE]);
    // A record without an explanation says what its code means.
    expect(lines(expired.out)).toContain(
      `  why: ERR_TOKEN_EXPIRED: ${ERROR_CATALOGUE.ERR_TOKEN_EXPIRED}`,
    );
    expect(lines(expired.out).at(-1)).toBe(
      "Not replayable: the caller's credential was refused (ERR_TOKEN_EXPIRED) and the audit record never keeps a token, so identity cannot be replayed",
    );
  });

  it('reads CloudTrail-shaped records, with the host they keep', async () => {
    const { request, outcome } = decideClaims(
      READER_CLAIMS,
      input('GET', '/orders/7'),
      example,
      AT_MS,
    );
    const record = cloudTrailRecord(
      request,
      { ...outcome, decisionId: 'd-trail' },
      40,
      AT_MS,
      HASH,
    );
    const file = tempFile(
      'trail.jsonl',
      `${JSON.stringify({ level: 30, time: AT, service: 'rolegate', ...record, msg: 'decision' })}\n`,
    );
    const run = await runCli([
      'explain',
      'd-trail',
      '--audit',
      file,
      '-c',
      EXAMPLE,
      '--claims',
      '{"aud":"rolegate-dev","groups":["readers"]}',
    ]);
    expect(run.status).toBe(0);
    const out = lines(run.out);
    expect(out[0]).toBe(`Decision d-trail (${file} line 1, ${AT}, CloudTrail-shaped)`);
    expect(out).toContain('  request:  GET orders.test/orders/7 from 10.0.0.7');
    expect(out).toContain(
      `  replayed:     GET /orders/7, host orders.test, from 10.0.0.7, claims aud, groups, iss, sub, at ${AT}`,
    );
    expect(out.at(-1)).toBe(
      "Same: today's configuration decides allow OK (role arn:rolegate:iam:::role/orders-reader), as recorded",
    );
  });

  it('takes the host of a default-route decision from its resource', async () => {
    const line = JSON.stringify({
      time: AT,
      audit: {
        decision_id: 'd-default',
        method: 'GET',
        path: '/x/y',
        issuer: ISSUER,
        subject: 'alice',
        roles_considered: [],
        action: 'http:Get',
        resource: 'arn:rolegate:http:::api.test:8443/x/y',
        route: 'default',
        decision: 'deny',
        reason: 'ERR_NO_ROLE',
        determining: [],
      },
    });
    const audit = await readAuditFiles([tempFile('default.jsonl', `${line}\n`)]);
    const [entry] = audit.decisions;
    if (entry === undefined) throw new Error('no record read');
    const replay = replayDecision(entry, example, 'example', {});
    expect(replay.request).toMatchObject({ host: 'api.test:8443', hostFrom: 'resource' });
    expect(replay.notReplayed.join('; ')).not.toContain('the host');
  });

  it.each([
    '/orders/42',
    '/a b/c',
    '/caf\u00e9',
    '/q?x=1',
    '/hash#frag',
    "/sub-delims!$&'()*+,=:@",
  ])('the canonical path %j is replayed as itself', (path) => {
    const request = canonicalRequest({
      method: 'GET',
      target: encodePath(path),
      host: 'h',
      headers: {},
      secure: false,
      contextExtensions: {},
    });
    expect(request.refused).toBeUndefined();
    expect(request.path).toBe(path);
  });

  it('an mTLS peer is replayed as the peer: a configuration without mTLS finds no credential', async () => {
    const record = {
      decision_id: 'd-peer',
      config_hash: 'a1b2c3d4e5f6',
      method: 'GET',
      path: '/orders/42',
      issuer: 'spiffe://example.org',
      subject: 'spiffe://example.org/ns/shop/sa/web',
      roles_considered: ['orders-reader'],
      role: 'arn:rolegate:iam:::role/orders-reader',
      decision: 'allow',
      reason: 'OK',
      determining: [],
    };
    const file = tempFile('peer.jsonl', `${JSON.stringify({ time: AT, audit: record })}\n`);
    const run = await runCli(['explain', 'd-peer', '--audit', file, '-c', EXAMPLE]);
    const out = lines(run.out);
    expect(out).toContain(
      `  replayed:     GET /orders/42, host localhost, claims none (an mTLS peer), at ${AT}`,
    );
    expect(out.at(-1)).toBe(
      'Differs: recorded allow OK (role arn:rolegate:iam:::role/orders-reader), today deny ERR_CREDENTIAL_MISSING',
    );
  });
});

describe('rolegate explain: the explanation as text', () => {
  it('an identity refusal is its one sentence; control characters never reach the terminal', async () => {
    const record = {
      decision_id: 'd-identity',
      method: 'GET',
      path: '/orders/1',
      roles_considered: [],
      decision: 'deny',
      reason: 'ERR_TOKEN_ISSUER_UNKNOWN',
      determining: [],
      explanation: [
        {
          identity: {
            check: 'issuer',
            message: 'iss "http://localhost:9100\u001b[31m" is not a configured issuer',
          },
        },
      ],
    };
    const file = tempFile('identity.jsonl', `${JSON.stringify({ time: AT, audit: record })}\n`);
    const run = await runCli(['explain', 'd-identity', '--audit', file]);
    expect(lines(run.out).slice(-2)).toEqual([
      '  why:',
      '    identity (issuer): iss "http://localhost:9100?[31m" is not a configured issuer',
    ]);
  });
});
