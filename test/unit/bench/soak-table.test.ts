import { describe, expect, it } from '@jest/globals';

import {
  renderMarkdown,
  renderText,
  tableRows,
  type SoakSummary,
} from '../../../bench/soak/table.js';

const summary: SoakSummary = {
  date: '2026-11-30T10:00:00Z',
  machine: 'AMD EPYC, 2 cores, Node v24.22.3, Envoy 1.40.0',
  placement: 'rolegate on core 0',
  peakRps: 2000,
  peakRolegateCpu: 0.97,
  heldRolegateCpu: 0.781,
  generatorCeilingRps: 7000,
  rate: 1600,
  durationS: 600,
  requests: 960_000,
  p50Ms: 2.04,
  p99Ms: 9.51,
  errors: 0,
  reloads: 9,
  invalidConfigs: 9,
  generationsSeen: 10,
  badTried: 9600,
  badRefused: 9600,
  badStatuses: { 400: 1600, 401: 6400, 403: 1600 },
  clientRequests: 1_000_000,
  envoyLines: 1_000_000,
  auditRecords: 998_400,
  refusedByEnvoy: 1600,
  extAuthzFailed: 0,
  abandonedAudited: 0,
  mismatches: 0,
  rssStartBytes: 150 * 1_048_576,
  rssEndBytes: 155 * 1_048_576,
  fdStart: 30,
  fdEnd: 31,
  verdicts: [
    { name: 'zero errors', ok: true, detail: '0 of 1000000' },
    { name: 'RSS flat', ok: false, detail: 'grew' },
  ],
};

describe('soak table', () => {
  it('states load, faults, bad inputs and the reconciliation', () => {
    const rows = Object.fromEntries(tableRows(summary));
    expect(rows['Load held']).toBe(
      '1,600 req/s (80 % of the measured peak 2,000 req/s) for 10.0 min: 960,000 requests, p50 2.0 ms, p99 9.5 ms, 0 errors',
    );
    expect(rows['Faults survived']).toContain('9 hot reloads (10 config generations');
    expect(rows['Bad inputs tried']).toContain(
      '9,600 refused (400: 1,600, 401: 6,400, 403: 1,600), 0 not',
    );
    expect(rows['Nothing lost']).toBe(
      'client 1,000,000 = Envoy log 1,000,000; decided by rolegate 998,400 = audit records 998,400 (+1,600 refused by Envoy itself); 0 mismatches',
    );
    expect(rows['CPU (rolegate)']).toBe('78 % of a core at held load, 97 % at the peak');
    expect(rows['RSS (rolegate)']).toBe('150 MB -> 155 MB (start -> end of held load)');
    expect(rows['PASS zero errors']).toBe('0 of 1000000');
    expect(rows['FAIL RSS flat']).toBe('grew');
  });

  it("counts ext_authz timeouts apart from rolegate's decisions", () => {
    const rows = Object.fromEntries(
      tableRows({ ...summary, extAuthzFailed: 66, envoyLines: 1_000_066, mismatches: 66 }),
    );
    expect(rows['Nothing lost']).toBe(
      'client 1,000,000 = Envoy log 1,000,066; decided by rolegate 998,400 = audit records 998,400 (+1,600 refused by Envoy itself, +66 ext_authz timeouts); 66 mismatches',
    );
  });

  it('counts timeouts rolegate audited as abandoned denies on the audit side', () => {
    const rows = Object.fromEntries(
      tableRows({
        ...summary,
        extAuthzFailed: 66,
        abandonedAudited: 66,
        envoyLines: 1_000_066,
        auditRecords: 998_466,
      }),
    );
    expect(rows['Nothing lost']).toBe(
      "client 1,000,000 = Envoy log 1,000,066; decided by rolegate 998,400 + 66 abandoned by Envoy's timeout = audit records 998,466 (+1,600 refused by Envoy itself, +66 ext_authz timeouts); 0 mismatches",
    );
  });

  it('says "fixed rate" when no peak was measured', () => {
    const { peakRps: _peak, ...fixed } = summary;
    expect(Object.fromEntries(tableRows(fixed))['Load held']).toContain('(fixed rate)');
  });

  it('renders text with the date and machine, and markdown with escaped pipes', () => {
    expect(renderText(summary).split('\n')[0]).toBe(
      'rolegate soak, 2026-11-30T10:00:00Z on AMD EPYC, 2 cores, Node v24.22.3, Envoy 1.40.0',
    );
    const md = renderMarkdown({ ...summary, verdicts: [{ name: 'a|b', ok: true, detail: 'x' }] });
    expect(md).toContain('| What | Result |');
    expect(md).toContain('| PASS a\\|b | x |');
    expect(md.split('\n')[0]).toContain('Run 2026-11-30T10:00:00Z on AMD EPYC');
  });
});
