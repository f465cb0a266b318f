import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observe/logger.js';

/** A pino logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(level = 'info'): {
  logger: Logger;
  lines: string[];
  records: () => Record<string, unknown>[];
  /** The audit record of a decision (by the id the response carried), if one was written. */
  auditFor: (decisionId: string | null | undefined) => Record<string, unknown> | undefined;
} {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(line);
      done();
    },
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    logger: createLogger(level, stream),
    lines,
    records,
    auditFor: (decisionId) =>
      records()
        .map((r) => r['audit'] as Record<string, unknown> | undefined)
        .find((a) => a !== undefined && a['decision_id'] === decisionId),
  };
}
