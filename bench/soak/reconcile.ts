/**
 * Decision-audit reconciliation: every request Envoy logged that rolegate
 * decided has exactly one audit record with the same request id and the
 * same decision; every request Envoy refused on its own has none; every
 * audit record belongs to a request Envoy logged.
 *
 * Request ids are `soak-<seq>` (the load generator numbers its requests
 * 0..n-1), so the ledger is a few typed arrays, not a map of a million
 * strings.
 */

/** The request id the load generator sends for request `seq`. */
export function requestIdOf(seq: number): string {
  return `soak-${seq}`;
}

/** The request id of the readiness probes (not part of the ledger: skipped on both sides). */
export const PROBE_ID = 'soak-probe';

/** The `seq` of a soak request id, or undefined when it is not one. */
export function seqOf(requestId: unknown, n: number): number | undefined {
  if (typeof requestId !== 'string' || !requestId.startsWith('soak-')) return undefined;
  const digits = requestId.slice(5);
  if (!/^(0|[1-9]\d{0,9})$/.test(digits)) return undefined;
  const seq = Number(digits);
  return seq < n ? seq : undefined;
}

/** Envoy access-log `details` (%RESPONSE_CODE_DETAILS%) of requests rolegate decided. */
const ALLOWED = 'via_upstream';
const DENIED = 'ext_authz_denied';
/** The audit reason of a check whose caller stopped waiting before the answer. */
const ABANDONED = 'ERR_CHECK_ABANDONED';

/** One problem found, for the report. */
export interface Mismatch {
  readonly requestId: string;
  readonly problem: string;
}

/** What the reconciliation found. */
export interface Reconciliation {
  /** Requests the client sent. */
  readonly clientRequests: number;
  readonly envoyLines: number;
  readonly auditRecords: number;
  /** Envoy lines whose request rolegate decided (allowed upstream, or denied by ext_authz). */
  readonly decidedByRolegate: number;
  /** Envoy lines of requests Envoy answered itself (e.g. 400 for an encoded slash). */
  readonly refusedByEnvoy: number;
  /**
   * Envoy lines where the ext_authz call failed (Envoy denied with 403 on
   * its own; rolegate may still have decided and audited it, too late).
   */
  readonly extAuthzFailed: number;
  /** Of those, the ones rolegate audited once as an abandoned deny (`ERR_CHECK_ABANDONED`). */
  readonly abandonedAudited: number;
  /**
   * Requests with exactly one audit record of the decision the client got:
   * decided ones, and ext_authz failures audited as abandoned denies.
   */
  readonly matched: number;
  /** Distinct configuration hashes seen in audit records, in order of first appearance. */
  readonly configHashes: readonly string[];
  readonly mismatchCount: number;
  /** The first mismatches (at most `keep` of the ledger). */
  readonly mismatches: readonly Mismatch[];
  /** Every mismatch counted by kind (the problem with its numbers replaced by N). */
  readonly mismatchKinds: Readonly<Record<string, number>>;
}

const ALLOW = 1;
const DENY = 2;
/** Envoy answered without asking rolegate (e.g. 400 for an encoded slash). */
const LOCAL = 3;
/** Envoy asked rolegate but the call failed (ext_authz_error: timeout, reset); Envoy denied. */
const EXT_AUTHZ_FAILED = 4;

/** Collects Envoy access-log lines and audit lines, then reconciles them. */
export class Reconciler {
  private readonly envoyCount: Uint8Array;
  /** 0 = not logged, else ALLOW, DENY, LOCAL or EXT_AUTHZ_FAILED. */
  private readonly envoyKind: Uint8Array;
  private readonly envoyStatus: Uint16Array;
  private readonly auditCount: Uint8Array;
  private readonly auditDecision: Uint8Array;
  /** 1 where the record says the caller abandoned the check (`ERR_CHECK_ABANDONED`). */
  private readonly auditAbandoned: Uint8Array;
  private readonly hashes: string[] = [];
  private readonly seenHashes = new Set<string>();
  private envoyLines = 0;
  private auditRecords = 0;
  private mismatchCount = 0;
  private readonly mismatches: Mismatch[] = [];
  private readonly byKind = new Map<string, number>();

  /** `n` requests were sent (ids soak-0..soak-(n-1)); `keep` mismatches are kept (default 20). */
  constructor(
    private readonly n: number,
    private readonly keep = 20,
  ) {
    this.envoyCount = new Uint8Array(n);
    this.envoyKind = new Uint8Array(n);
    this.envoyStatus = new Uint16Array(n);
    this.auditCount = new Uint8Array(n);
    this.auditDecision = new Uint8Array(n);
    this.auditAbandoned = new Uint8Array(n);
  }

  private problem(requestId: string, problem: string): void {
    this.mismatchCount++;
    // The kind is the problem without its numbers, e.g. "N audit records for one decided request".
    const kind = problem.replace(/:.*$/, '').replace(/\d+/g, 'N');
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    if (this.mismatches.length < this.keep) this.mismatches.push({ requestId, problem });
  }

  /** One line of Envoy's JSON access log: `{ request_id, status, details }`. */
  addEnvoyLine(line: string): void {
    if (line.trim() === '') return;
    this.envoyLines++;
    let entry: { request_id?: unknown; status?: unknown; details?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      this.problem('?', `unreadable Envoy log line: ${line.slice(0, 120)}`);
      return;
    }
    if (entry.request_id === PROBE_ID) {
      this.envoyLines--;
      return;
    }
    const seq = seqOf(entry.request_id, this.n);
    if (seq === undefined) {
      this.problem(String(entry.request_id), 'Envoy logged a request the client did not send');
      return;
    }
    const status = Number(entry.status);
    const details = String(entry.details);
    this.envoyCount[seq] = Math.min(255, (this.envoyCount[seq] ?? 0) + 1);
    this.envoyStatus[seq] = Number.isInteger(status) ? status : 0;
    if (details === ALLOWED) this.envoyKind[seq] = ALLOW;
    else if (details === DENIED) this.envoyKind[seq] = DENY;
    // ext_authz_error and the like: rolegate did not answer in time (or at all).
    else if (details.includes('ext_authz')) this.envoyKind[seq] = EXT_AUTHZ_FAILED;
    else this.envoyKind[seq] = LOCAL;
  }

  /** One audit line as rolegate writes it (pino JSON, the record under `audit`). */
  addAuditLine(line: string): void {
    if (line.trim() === '') return;
    let entry: {
      audit?: { request_id?: unknown; decision?: unknown; reason?: unknown; config_hash?: unknown };
    };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      this.problem('?', `unreadable audit line: ${line.slice(0, 120)}`);
      return;
    }
    const audit = entry.audit;
    if (audit === undefined || audit.request_id === PROBE_ID) return; // not a ledger record
    this.auditRecords++;
    if (typeof audit.config_hash === 'string' && !this.seenHashes.has(audit.config_hash)) {
      this.seenHashes.add(audit.config_hash);
      this.hashes.push(audit.config_hash);
    }
    const seq = seqOf(audit.request_id, this.n);
    if (seq === undefined) {
      this.problem(String(audit.request_id), 'audit record of a request the client did not send');
      return;
    }
    this.auditCount[seq] = Math.min(255, (this.auditCount[seq] ?? 0) + 1);
    this.auditDecision[seq] = audit.decision === 'allow' ? ALLOW : DENY;
    this.auditAbandoned[seq] = audit.reason === ABANDONED ? 1 : 0;
  }

  /** Compares the two sides request by request (call once, after every line is in). */
  result(): Reconciliation {
    let decided = 0;
    let refusedByEnvoy = 0;
    let extAuthzFailed = 0;
    let abandonedAudited = 0;
    let matched = 0;
    for (let seq = 0; seq < this.n; seq++) {
      const id = requestIdOf(seq);
      const logged = this.envoyCount[seq] ?? 0;
      const kind = this.envoyKind[seq] ?? 0;
      const audits = this.auditCount[seq] ?? 0;
      const status = this.envoyStatus[seq] ?? 0;
      if (logged > 1) this.problem(id, `Envoy logged it ${logged} times`);
      if (logged === 0) {
        this.problem(
          id,
          audits > 0 ? 'audit record but no Envoy log line' : 'sent but Envoy did not log it',
        );
        continue;
      }
      if (kind === EXT_AUTHZ_FAILED) {
        extAuthzFailed++;
        // rolegate noticed the caller gave up and recorded the deny Envoy gave.
        if (audits === 1 && this.auditDecision[seq] === DENY && this.auditAbandoned[seq] === 1) {
          abandonedAudited++;
          matched++;
          continue;
        }
        const audited =
          audits === 0
            ? 'no audit record'
            : `rolegate audited ${audits} ${this.auditDecision[seq] === ALLOW ? 'allow' : 'deny'}`;
        this.problem(
          id,
          `Envoy's ext_authz call failed (timeout or reset), client got ${status}; ${audited}`,
        );
        continue;
      }
      if (kind === LOCAL) {
        refusedByEnvoy++;
        if (audits > 0) this.problem(id, `refused by Envoy (${status}) yet audited`);
        continue;
      }
      decided++;
      if (audits !== 1) {
        this.problem(id, `${audits} audit records for one decided request (status ${status})`);
        continue;
      }
      const auditKind = this.auditDecision[seq] ?? 0;
      if (auditKind !== kind) {
        this.problem(
          id,
          `Envoy ${kind === ALLOW ? 'allowed' : 'denied'} (${status}), audit says ${auditKind === ALLOW ? 'allow' : 'deny'}`,
        );
        continue;
      }
      matched++;
    }
    return {
      clientRequests: this.n,
      envoyLines: this.envoyLines,
      auditRecords: this.auditRecords,
      decidedByRolegate: decided,
      refusedByEnvoy,
      extAuthzFailed,
      abandonedAudited,
      matched,
      configHashes: [...this.hashes],
      mismatchCount: this.mismatchCount,
      mismatches: [...this.mismatches],
      mismatchKinds: Object.fromEntries(this.byKind),
    };
  }
}
