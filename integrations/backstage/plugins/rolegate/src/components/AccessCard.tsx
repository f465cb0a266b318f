/**
 * The entity card. Four parts, each loaded on its own so one refusal (say,
 * rolegate has no catalog source for the entity) leaves the others usable:
 *
 * - the roles that reach the entity's routes (rolegate's reach answer);
 * - the viewer's active grants;
 * - a form asking for a role for a while, with a reason;
 * - the pending requests for the entity's roles, with Approve and Deny for
 *   an owner of the entity.
 *
 * Every action is a call in the viewer's name; whatever rolegate refuses is
 * shown with its code, and rolegate's answer is the only authority (the
 * buttons are a convenience, not a permission).
 */
import { stringifyEntityRef } from '@backstage/catalog-model';
import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import {
  rolegateApiRef,
  RolegateApiError,
  type EntityAccessRequest,
  type EntityReach,
  type EntityRequests,
  type Grant,
} from '../api.js';

/** One part's load: its value, or why it failed. */
type Part<T> = { readonly value: T } | { readonly failure: string };

interface Parts {
  readonly reach: Part<EntityReach>;
  readonly grants: Part<readonly Grant[]>;
  readonly requests: Part<EntityRequests>;
}

/** What the viewer sees of a failure: the refusal's code, never more than the API said. */
function failureOf(reason: unknown): string {
  if (reason instanceof RolegateApiError) return `${reason.code} (HTTP ${reason.status})`;
  return reason instanceof Error ? reason.message : String(reason);
}

function settle<T>(result: PromiseSettledResult<T>): Part<T> {
  return result.status === 'fulfilled'
    ? { value: result.value }
    : { failure: failureOf(result.reason) };
}

const minutes = (seconds: number) => Math.max(1, Math.round(seconds / 60));

/** The card; rendered by `EntityRolegateAccessCard` on an entity page. */
export function AccessCard() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(rolegateApiRef);
  const [parts, setParts] = useState<Parts | undefined>(undefined);

  const load = useCallback(async () => {
    const [reach, grants, requests] = await Promise.allSettled([
      api.reach(entityRef),
      api.grants(),
      api.entityRequests(entityRef),
    ]);
    setParts({ reach: settle(reach), grants: settle(grants), requests: settle(requests) });
  }, [api, entityRef]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <InfoCard title="Access (rolegate)">
      {parts === undefined ? (
        <Progress />
      ) : (
        <>
          <ReachingRoles part={parts.reach} />
          <ActiveGrants part={parts.grants} />
          <RequestForm
            roles={'value' in parts.reach ? roleNames(parts.reach.value) : []}
            onDone={load}
          />
          <PendingRequests part={parts.requests} onDone={load} />
        </>
      )}
    </InfoCard>
  );
}

/** The role names of a reach answer, sorted, once each. */
function roleNames(reach: EntityReach): string[] {
  return [...new Set(reach.routes.flatMap((r) => r.roles.map((x) => x.role)))].sort();
}

function Section(props: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id}>
      <h3 id={id}>{props.title}</h3>
      {props.children}
    </section>
  );
}

function ReachingRoles({ part }: { part: Part<EntityReach> }) {
  if ('failure' in part) {
    return (
      <Section title="Roles that reach this entity">
        <p role="alert">Roles unavailable: {part.failure}</p>
      </Section>
    );
  }
  const roles = roleNames(part.value);
  return (
    <Section title="Roles that reach this entity">
      {roles.length === 0 ? (
        <p>No role reaches this entity&apos;s routes.</p>
      ) : (
        <ul aria-label="Roles">
          {roles.map((role) => (
            <li key={role}>
              <strong>{role}</strong>:{' '}
              {part.value.routes
                .flatMap((r) =>
                  r.roles
                    .filter((x) => x.role === role)
                    .map((x) => `${r.method} ${r.path} (${x.reach})`),
                )
                .join(', ')}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function ActiveGrants({ part }: { part: Part<readonly Grant[]> }) {
  if ('failure' in part) {
    return (
      <Section title="Your active grants">
        <p role="alert">Grants unavailable: {part.failure}</p>
      </Section>
    );
  }
  const active = part.value.filter((g) => g.revokedAt === undefined && g.secondsLeft > 0);
  return (
    <Section title="Your active grants">
      {active.length === 0 ? (
        <p>No active grants.</p>
      ) : (
        <ul aria-label="Active grants">
          {active.map((g) => (
            <li key={g.id}>
              <strong>{g.role}</strong> for {g.subject} until {g.expiresAt} (
              {minutes(g.secondsLeft)} min left){g.breakGlass ? ', break-glass' : ''}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function RequestForm({ roles, onDone }: { roles: readonly string[]; onDone: () => Promise<void> }) {
  const api = useApi(rolegateApiRef);
  const id = useId();
  const [role, setRole] = useState('');
  const [duration, setDuration] = useState('60');
  const [reason, setReason] = useState('');
  const [ticket, setTicket] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const created = await api.requestAccess({
        role: role.trim(),
        durationSeconds: Math.round(Number(duration) * 60),
        reason,
        ...(ticket.trim() === '' ? {} : { ticket: ticket.trim() }),
      });
      setOutcome({
        ok: true,
        text: `Request ${created.id} for ${created.role}: ${created.status}`,
      });
      setReason('');
      setTicket('');
      await onDone();
    } catch (err) {
      setOutcome({ ok: false, text: `Request refused: ${failureOf(err)}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Request access">
      <form aria-label="Request access" onSubmit={(e) => void submit(e)}>
        <div>
          <label htmlFor={`${id}-role`}>Role</label>{' '}
          <input
            id={`${id}-role`}
            list={`${id}-roles`}
            required
            value={role}
            onChange={(e) => setRole(e.target.value)}
          />
          <datalist id={`${id}-roles`}>
            {roles.map((r) => (
              <option key={r} value={r} />
            ))}
          </datalist>
        </div>
        <div>
          <label htmlFor={`${id}-duration`}>Duration (minutes)</label>{' '}
          <input
            id={`${id}-duration`}
            type="number"
            min={1}
            step={1}
            required
            value={duration}
            onChange={(e) => setDuration(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor={`${id}-reason`}>Reason</label>{' '}
          <textarea
            id={`${id}-reason`}
            required
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor={`${id}-ticket`}>Ticket (optional)</label>{' '}
          <input id={`${id}-ticket`} value={ticket} onChange={(e) => setTicket(e.target.value)} />
        </div>
        <button type="submit" disabled={busy}>
          Request access
        </button>
      </form>
      {outcome === undefined ? null : <p role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}
    </Section>
  );
}

function PendingRequests({
  part,
  onDone,
}: {
  part: Part<EntityRequests>;
  onDone: () => Promise<void>;
}) {
  const api = useApi(rolegateApiRef);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>(undefined);

  if ('failure' in part) {
    return (
      <Section title="Pending requests">
        <p role="alert">Pending requests unavailable: {part.failure}</p>
      </Section>
    );
  }
  const { requests, viewerOwns, owner } = part.value;

  const decide = async (request: EntityAccessRequest, decision: 'approve' | 'deny') => {
    try {
      const decided = await api.decide(request.id, decision);
      setOutcome({
        ok: true,
        text: `Request ${decided.id} for ${decided.role}: ${decided.status}`,
      });
      await onDone();
    } catch (err) {
      setOutcome({ ok: false, text: `Decision refused: ${failureOf(err)}` });
    }
  };

  return (
    <Section title="Pending requests">
      {viewerOwns ? (
        <p>You own this entity ({owner}): you may approve its roles&apos; requests.</p>
      ) : null}
      {requests.length === 0 ? (
        <p>No pending requests.</p>
      ) : (
        <ul aria-label="Pending requests">
          {requests.map((r) => (
            <li key={r.id}>
              {r.requester} asks for <strong>{r.role}</strong> for {minutes(r.durationSeconds)} min
              {r.ticket === undefined ? '' : ` (${r.ticket})`}: {r.reason}{' '}
              {r.approvable ? (
                <>
                  <button
                    type="button"
                    aria-label={`Approve ${r.requester}'s request for ${r.role}`}
                    onClick={() => void decide(r, 'approve')}
                  >
                    Approve
                  </button>{' '}
                  <button
                    type="button"
                    aria-label={`Deny ${r.requester}'s request for ${r.role}`}
                    onClick={() => void decide(r, 'deny')}
                  >
                    Deny
                  </button>
                </>
              ) : (
                <em>awaiting an owner&apos;s approval</em>
              )}
            </li>
          ))}
        </ul>
      )}
      {outcome === undefined ? null : <p role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}
    </Section>
  );
}
