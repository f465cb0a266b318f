/**
 * Lifecycle events to the audit log and Prometheus: one audit record per
 * event (msg `access`, under the `access` key) and per refused call (msg
 * `access_refused`, with what was `expected` and what was found, `actual`),
 * and the access metrics. Records hold ids, names,
 * subjects and times; never a token.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AccessEvent, AccessEvents, AccessRefusal } from './service.js';
import type { Grant } from './model.js';

/** The access metrics. */
export interface AccessMetrics {
  /** Sets the open-requests and active-grants gauges. */
  gauges(openRequests: number, activeGrants: number): void;
  readonly events: Counter<'event'>;
  readonly refusals: Counter<'reason'>;
  readonly approvalSeconds: Histogram;
  readonly grantsEnded: Counter<'how'>;
  readonly cacheRefreshes: Counter<'result'>;
  readonly webhooks: Counter<'result'>;
}

/** Registers the access metrics in `registry`. */
export function createAccessMetrics(registry: Registry): AccessMetrics {
  const open = new Gauge({
    name: 'rolegate_access_open_requests',
    help: 'Access requests waiting for approval.',
    registers: [registry],
  });
  const active = new Gauge({
    name: 'rolegate_access_active_grants',
    help: 'Grants in the cache that are neither expired nor revoked.',
    registers: [registry],
  });
  return {
    gauges(o, a) {
      open.set(o);
      active.set(a);
    },
    events: new Counter({
      name: 'rolegate_access_events_total',
      help: 'Access lifecycle events (requested, approved, denied, revoked, expired).',
      labelNames: ['event'],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'rolegate_access_refusals_total',
      help: 'Refused access API calls, by catalogue code.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    approvalSeconds: new Histogram({
      name: 'rolegate_access_approval_seconds',
      help: 'Time from request to the approval that created the grant.',
      buckets: [1, 5, 15, 60, 300, 900, 3600, 14_400, 86_400],
      registers: [registry],
    }),
    grantsEnded: new Counter({
      name: 'rolegate_access_grants_ended_total',
      help: 'Grants that ended, by how (expired, revoked).',
      labelNames: ['how'],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'rolegate_access_webhook_deliveries_total',
      help: 'Webhook deliveries by final result (after retries).',
      labelNames: ['result'],
      registers: [registry],
    }),
    cacheRefreshes: new Counter({
      name: 'rolegate_access_grant_cache_refreshes_total',
      help: 'Grant cache refreshes from the store, by result.',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

/** The audit record of a grant (times as ISO 8601). */
function grantFields(g: Grant) {
  return {
    grant_id: g.id,
    role: g.roleArn,
    subject: g.subject,
    issuer: g.issuer,
    expires_at: new Date(g.expiresAt).toISOString(),
    break_glass: g.breakGlass,
    ...(g.uses === undefined ? {} : { uses: g.uses }),
  };
}

/** The `access` audit record of one lifecycle event. */
export function accessAuditRecord(e: AccessEvent): Record<string, unknown> {
  return {
    event: e.type,
    at: new Date(e.at).toISOString(),
    ...(e.request
      ? {
          request_id: e.request.id,
          role: e.request.roleArn,
          requester: e.request.requester,
          issuer: e.request.issuer,
          duration_seconds: e.request.durationSeconds,
          reason: e.request.reason,
          ...(e.request.ticket ? { ticket: e.request.ticket } : {}),
          break_glass: e.request.breakGlass,
          ...(e.request.bundleId === undefined ? {} : { bundle_id: e.request.bundleId }),
          // The document itself: the scope of the grant is part of what was approved.
          ...(e.request.sessionPolicy === undefined
            ? {}
            : { session_policy: JSON.parse(e.request.sessionPolicy) as unknown }),
          ...(e.request.approvedByPolicy === undefined
            ? {}
            : { approved_by_policy: e.request.approvedByPolicy }),
        }
      : {}),
    ...(e.grant ? { ...grantFields(e.grant), request_id: e.grant.requestId } : {}),
    ...(e.actor === undefined ? {} : { actor: e.actor }),
    ...(e.comment === undefined ? {} : { comment: e.comment }),
  };
}

/** Audit records and metrics for events, then `next` (webhooks) if given. */
export function auditingEvents(
  audit: Logger,
  metrics: AccessMetrics | undefined,
  next?: (e: AccessEvent) => void,
): AccessEvents {
  return {
    event(e) {
      audit.info({ access: accessAuditRecord(e) }, 'access');
      metrics?.events.inc({ event: e.type });
      if (e.type === 'approved' && e.request) {
        metrics?.approvalSeconds.observe(Math.max(0, (e.at - e.request.createdAt) / 1000));
      }
      if (e.type === 'revoked' || e.type === 'expired') metrics?.grantsEnded.inc({ how: e.type });
      try {
        next?.(e);
      } catch {
        // Notification is best effort; the event is already audited.
      }
    },
    refused(r: AccessRefusal) {
      audit.info(
        {
          access: {
            event: 'refused',
            at: new Date(r.at).toISOString(),
            action: r.action,
            reason: r.code,
            actor: r.actor,
            issuer: r.issuer,
            ...(r.requestId === undefined ? {} : { request_id: r.requestId }),
            ...(r.grantId === undefined ? {} : { grant_id: r.grantId }),
            ...(r.role === undefined ? {} : { role: r.role }),
            ...(r.expected === undefined ? {} : { expected: r.expected }),
            ...(r.actual === undefined ? {} : { actual: r.actual }),
          },
        },
        'access_refused',
      );
      metrics?.refusals.inc({ reason: r.code });
    },
  };
}
