/**
 * The observe module's options: the `audit` section (tracing is set with
 * the standard `OTEL_*` environment variables, see `tracing.ts`). Each
 * default is written once, in the schema.
 */
import type { z } from 'zod';
import { fraction, oneOf, section, text } from '../options/fields.js';

/** The `audit` section. */
export const auditSchema = section({
  allowSampleRate: fraction()
    .default(1)
    .describe('Fraction of allows that are audited (denies always are).'),
  format: oneOf(['rolegate', 'cloudtrail'])
    .default('rolegate')
    .describe(
      'Record shape: rolegate (default; docs/observability.md#audit-records) or cloudtrail (CloudTrail-shaped events, see docs/observability.md#cloudtrail-shaped-audit-records).',
    ),
  file: text()
    .optional()
    .describe(
      'Append audit records to this file instead of stdout (opened at start; a change takes effect on restart).',
    ),
});

/** `audit` options; defaults in {@link auditSchema}. */
export type AuditConfig = z.output<typeof auditSchema>;
