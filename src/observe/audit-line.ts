/**
 * The decision record's JSON line, written by hand for the hot path: the
 * same bytes pino writes for `logger.info({ audit: record }, 'decision')`
 * with the audit logger's options (level 30, ISO time, `service:
 * rolegate`), without pino's generic walk of the object. Proven byte for
 * byte against pino in test/unit/observe/audit-line.test.ts.
 */

/**
 * ISO 8601 time of `ms` as `Date.prototype.toISOString` writes it; the part
 * up to the second is cached, since many records share it.
 */
export function createIsoClock(): (ms: number) => string {
  let second = NaN;
  let head = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      const iso = new Date(ms).toISOString();
      // `…:SS.` then three digits of milliseconds and `Z`.
      head = iso.slice(0, -4);
      second = s;
    }
    const milli = ms - s * 1000;
    if (!Number.isInteger(milli)) return new Date(ms).toISOString();
    return `${head}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
  };
}

/**
 * The whole line pino's audit logger would write for a decision record
 * (`recordJson`, from `auditRecordJson`) at the ISO time `iso`: level,
 * time, service, the record under `audit`, `msg`, and the newline.
 */
export function auditLine(recordJson: string, iso: string): string {
  return `{"level":30,"time":"${iso}","service":"rolegate","audit":${recordJson},"msg":"decision"}\n`;
}
