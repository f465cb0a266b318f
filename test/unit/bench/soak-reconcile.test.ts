import { describe, expect, it } from '@jest/globals';

import { PROBE_ID, Reconciler, requestIdOf, seqOf } from '../../../bench/soak/reconcile.js';

const envoy = (id: string, status: number, details: string) =>
  JSON.stringify({ request_id: id, status, details });
const audit = (id: string, decision: 'allow' | 'deny', hash = 'h1', reason?: string) =>
  JSON.stringify({
    level: 30,
    msg: 'decision',
    audit: { request_id: id, decision, config_hash: hash, ...(reason ? { reason } : {}) },
  });

/** A ledger of `n` requests where every one was allowed and audited once. */
function clean(n: number): Reconciler {
  const r = new Reconciler(n);
  for (let i = 0; i < n; i++) {
    r.addEnvoyLine(envoy(requestIdOf(i), 200, 'via_upstream'));
    r.addAuditLine(audit(requestIdOf(i), 'allow'));
  }
  return r;
}

describe('soak request ids', () => {
  it('round-trips seq numbers and refuses anything else', () => {
    expect(seqOf(requestIdOf(41), 100)).toBe(41);
    expect(seqOf('soak-100', 100)).toBeUndefined();
    expect(seqOf('soak-01', 100)).toBeUndefined();
    expect(seqOf('soak-', 100)).toBeUndefined();
    expect(seqOf('c0ffee-uuid', 100)).toBeUndefined();
    expect(seqOf(7, 100)).toBeUndefined();
  });
});

describe('Reconciler', () => {
  it('matches a clean ledger exactly', () => {
    const r = clean(3).result();
    expect(r).toMatchObject({
      clientRequests: 3,
      envoyLines: 3,
      auditRecords: 3,
      decidedByRolegate: 3,
      refusedByEnvoy: 0,
      extAuthzFailed: 0,
      matched: 3,
      mismatchCount: 0,
      configHashes: ['h1'],
    });
  });

  it('expects no audit record for a request Envoy refused itself, and counts it apart', () => {
    const r = new Reconciler(2);
    r.addEnvoyLine(envoy('soak-0', 403, 'ext_authz_denied'));
    r.addAuditLine(audit('soak-0', 'deny'));
    r.addEnvoyLine(envoy('soak-1', 400, 'path_normalization_failed'));
    expect(r.result()).toMatchObject({ matched: 1, refusedByEnvoy: 1, mismatchCount: 0 });
  });

  it('reports a lost audit record, a duplicate and a different decision', () => {
    const r = new Reconciler(3);
    r.addEnvoyLine(envoy('soak-0', 200, 'via_upstream'));
    r.addEnvoyLine(envoy('soak-1', 200, 'via_upstream'));
    r.addAuditLine(audit('soak-1', 'allow'));
    r.addAuditLine(audit('soak-1', 'allow'));
    r.addEnvoyLine(envoy('soak-2', 403, 'ext_authz_denied'));
    r.addAuditLine(audit('soak-2', 'allow'));
    const res = r.result();
    expect(res.matched).toBe(0);
    expect(res.mismatches.map((m) => [m.requestId, m.problem])).toEqual([
      ['soak-0', '0 audit records for one decided request (status 200)'],
      ['soak-1', '2 audit records for one decided request (status 200)'],
      ['soak-2', 'Envoy denied (403), audit says allow'],
    ]);
  });

  it('reports requests only one side saw', () => {
    const r = new Reconciler(2);
    r.addAuditLine(audit('soak-0', 'allow'));
    r.addEnvoyLine(envoy('not-ours', 200, 'via_upstream'));
    r.addAuditLine(audit('also-not-ours', 'deny'));
    const problems = r.result().mismatches.map((m) => `${m.requestId}: ${m.problem}`);
    expect(problems).toEqual([
      'not-ours: Envoy logged a request the client did not send',
      'also-not-ours: audit record of a request the client did not send',
      'soak-0: audit record but no Envoy log line',
      'soak-1: sent but Envoy did not log it',
    ]);
  });

  it('reports an ext_authz failure once, with what rolegate audited for it', () => {
    const r = new Reconciler(3);
    // rolegate answered after Envoy's timeout: Envoy denied, the audit says allow.
    r.addEnvoyLine(envoy('soak-0', 403, 'ext_authz_error'));
    r.addAuditLine(audit('soak-0', 'allow'));
    r.addEnvoyLine(envoy('soak-1', 403, 'ext_authz_error'));
    // rolegate saw the caller give up and audited the deny Envoy gave: reconciled.
    r.addEnvoyLine(envoy('soak-2', 403, 'ext_authz_error'));
    r.addAuditLine(audit('soak-2', 'deny', 'h1', 'ERR_CHECK_ABANDONED'));
    const res = r.result();
    expect(res).toMatchObject({
      extAuthzFailed: 3,
      decidedByRolegate: 0,
      matched: 1,
      mismatchCount: 2,
    });
    expect(res.mismatchKinds).toEqual({
      "Envoy's ext_authz call failed (timeout or reset), client got N; rolegate audited N allow": 1,
      "Envoy's ext_authz call failed (timeout or reset), client got N; no audit record": 1,
    });
    expect(res.mismatches.map((m) => `${m.requestId}: ${m.problem}`)).toEqual([
      "soak-0: Envoy's ext_authz call failed (timeout or reset), client got 403; rolegate audited 1 allow",
      "soak-1: Envoy's ext_authz call failed (timeout or reset), client got 403; no audit record",
    ]);
  });

  it('flags a request Envoy logged twice and unreadable lines', () => {
    const r = clean(1);
    r.addEnvoyLine(envoy('soak-0', 200, 'via_upstream'));
    r.addEnvoyLine('{not json');
    r.addAuditLine('garbage');
    const res = r.result();
    expect(res.mismatchCount).toBe(3);
    expect(res.mismatches.map((m) => m.problem)).toContain('Envoy logged it 2 times');
  });

  it('skips the readiness probe and non-decision log lines on both sides', () => {
    const r = clean(1);
    r.addEnvoyLine(envoy(PROBE_ID, 200, 'via_upstream'));
    r.addAuditLine(audit(PROBE_ID, 'allow'));
    r.addAuditLine(JSON.stringify({ level: 40, msg: 'config reloaded' }));
    r.addEnvoyLine('');
    expect(r.result()).toMatchObject({ envoyLines: 1, auditRecords: 1, mismatchCount: 0 });
  });

  it('lists config generations in order of first appearance, and keeps only the first mismatches', () => {
    const r = new Reconciler(30, 5);
    for (let i = 0; i < 30; i++)
      r.addAuditLine(audit(requestIdOf(i), 'allow', i < 10 ? 'a' : i < 20 ? 'b' : 'a'));
    const res = r.result();
    expect(res.configHashes).toEqual(['a', 'b']);
    expect(res.mismatchCount).toBe(30);
    expect(res.mismatches).toHaveLength(5);
    expect(res.mismatchKinds).toEqual({ 'audit record but no Envoy log line': 30 });
  });
});
