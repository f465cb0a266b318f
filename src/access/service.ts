/**
 * The access service: the lifecycle rules (request, approve, deny, revoke,
 * list, show) over a store, with every step authorized by rolegate's own
 * IAM engine (an injected {@link ActionAuthorizer}; `src/check` supplies
 * it, so this module never imports the pipeline) and every lifecycle event
 * and refusal reported to {@link AccessEvents} (audit, metrics, webhooks).
 *
 * Hard rules that no policy can lift: a requester never approves their
 * own request (except break-glass, when the role allows it), a duration
 * never exceeds the role's `maxGrantSeconds` (break-glass: `maxSeconds`).
 */
import { randomUUID } from 'node:crypto';
import { RolegateError, type ErrorCode } from '../errors.js';
import type { AccessEventType, AccessRequest, Grant } from './model.js';
import type { AccessConfig } from './options.js';
import type { AccessStore, ApproveResult } from './store.js';

/** The caller of an access API operation (a verified identity). */
export interface Caller {
  readonly issuer: string;
  readonly subject: string;
  readonly groups: readonly string[];
}

/** The access actions rolegate's own policies decide. */
export const ACCESS_ACTIONS = {
  request: 'rolegate:RequestAccess',
  approve: 'rolegate:ApproveAccessRequest',
  revoke: 'rolegate:RevokeGrant',
  list: 'rolegate:ListAccessRequests',
} as const;

/** One of {@link ACCESS_ACTIONS}. */
export type AccessAction = (typeof ACCESS_ACTIONS)[keyof typeof ACCESS_ACTIONS];

/** Context values an access action is decided with. */
export type AccessContext = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** True when the caller's own roles allow `action` on `roleArn` under `context`. */
export type ActionAuthorizer = (
  action: AccessAction,
  roleArn: string,
  context: AccessContext,
) => boolean;

/** A lifecycle event, as audited and sent to webhooks. */
export interface AccessEvent {
  readonly type: AccessEventType;
  readonly at: number;
  readonly request?: AccessRequest;
  readonly grant?: Grant;
  /** Subject of whoever acted (absent for expiry). */
  readonly actor?: string;
  readonly comment?: string;
}

/** A refused access API call. */
export interface AccessRefusal {
  readonly at: number;
  readonly action: string;
  readonly code: ErrorCode;
  readonly actor: string;
  readonly issuer: string;
  readonly requestId?: string;
  readonly grantId?: string;
  readonly role?: string;
}

/** Where events go; each sink is told synchronously and must not throw. */
export interface AccessEvents {
  event(event: AccessEvent): void;
  refused(refusal: AccessRefusal): void;
}

/** New request input. */
export interface NewRequest {
  readonly role: string;
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly breakGlass?: boolean;
}

export interface AccessServiceOptions {
  readonly store: AccessStore;
  /** The current `access` options (read per call, so a reload applies). */
  readonly config: () => AccessConfig;
  /** Role name -> ARN among the configured roles (undefined: no such role). */
  readonly roleArn: (name: string) => string | undefined;
  readonly now: () => number;
  readonly events: AccessEvents;
  /**
   * Called after a change to grants, and awaited before the call answers,
   * so the grant cache of this replica holds the change when the caller
   * hears of it (other replicas learn through the store's notification).
   */
  readonly changed?: () => Promise<unknown>;
  /** Request id generator. Default randomUUID. */
  readonly newId?: () => string;
}

const AUDITED = Symbol('rolegate.access.audited');

/** Marks an error as already reported to {@link AccessEvents.refused}. */
export function markAudited(err: RolegateError): RolegateError {
  return Object.assign(err, { [AUDITED]: true });
}

/** True when the service already audited this refusal (callers audit the others). */
export function isAudited(err: unknown): boolean {
  return typeof err === 'object' && err !== null && AUDITED in err;
}

/** Shortest reason accepted for break-glass (it is the only record of why). */
export const BREAK_GLASS_MIN_REASON = 10;

/** What the API calls, per caller. */
export interface AccessService {
  request(caller: Caller, authorize: ActionAuthorizer, input: NewRequest): Promise<AccessRequest>;
  approve(
    caller: Caller,
    authorize: ActionAuthorizer,
    id: string,
    comment: string,
  ): Promise<ApproveResult>;
  deny(
    caller: Caller,
    authorize: ActionAuthorizer,
    id: string,
    comment: string,
  ): Promise<AccessRequest>;
  revoke(caller: Caller, authorize: ActionAuthorizer, grantId: string): Promise<Grant>;
  /** The caller's own requests plus those whose role they may list. */
  list(
    caller: Caller,
    authorize: ActionAuthorizer,
    status?: AccessRequest['status'],
  ): Promise<AccessRequest[]>;
  show(caller: Caller, authorize: ActionAuthorizer, id: string): Promise<AccessRequest>;
  /** Active grants the caller holds or may revoke. */
  grants(caller: Caller, authorize: ActionAuthorizer): Promise<Grant[]>;
  /** Reports grants that expired since the last call (audit, webhooks, metrics). */
  sweepExpired(): Promise<Grant[]>;
}

const isSelf = (caller: Caller, issuer: string, subject: string) =>
  caller.issuer === issuer && caller.subject === subject;

/** Creates the service. */
export function createAccessService(options: AccessServiceOptions): AccessService {
  const { store, events } = options;
  const newId = options.newId ?? randomUUID;
  let sweptUntil = options.now();

  const refuse = (
    caller: Caller,
    action: string,
    code: ErrorCode,
    about: { requestId?: string; grantId?: string; role?: string } = {},
  ): never => {
    events.refused({
      at: options.now(),
      action,
      code,
      actor: caller.subject,
      issuer: caller.issuer,
      ...about,
    });
    throw markAudited(new RolegateError(code));
  };
  // A store failure is a refusal of its own (nothing changed), never an allow.
  const guard = async <T>(caller: Caller, action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof RolegateError && err.code.startsWith('ERR_ACCESS_')) throw err;
      return refuse(caller, action, 'ERR_ACCESS_STORE');
    }
  };
  const contextOf = (r: AccessRequest): AccessContext => ({
    'rolegate:RequestedDuration': r.durationSeconds,
    'rolegate:Requester': r.requester,
    'rolegate:RequesterGroups': r.groups,
    'rolegate:BreakGlass': r.breakGlass,
  });
  const mustRequest = async (caller: Caller, action: string, id: string) => {
    const found = await guard(caller, action, () => store.getRequest(id));
    return found ?? refuse(caller, action, 'ERR_ACCESS_NOT_FOUND', { requestId: id });
  };
  const mayList = (caller: Caller, authorize: ActionAuthorizer, r: AccessRequest) =>
    isSelf(caller, r.issuer, r.requester) ||
    authorize(ACCESS_ACTIONS.list, r.roleArn, contextOf(r));

  return {
    async request(caller, authorize, input) {
      const action = ACCESS_ACTIONS.request;
      const config = options.config();
      const roleArn = options.roleArn(input.role);
      const roleAccess = config.roles[input.role];
      if (roleArn === undefined || roleAccess === undefined) {
        return refuse(caller, action, 'ERR_ACCESS_INVALID', { role: input.role });
      }
      const breakGlass = input.breakGlass === true;
      const max = breakGlass ? roleAccess.breakGlass?.maxSeconds : roleAccess.maxGrantSeconds;
      const reason = input.reason.trim();
      if (
        max === undefined ||
        !Number.isInteger(input.durationSeconds) ||
        input.durationSeconds < 60 ||
        input.durationSeconds > max ||
        reason === '' ||
        (breakGlass && reason.length < BREAK_GLASS_MIN_REASON)
      ) {
        return refuse(caller, action, 'ERR_ACCESS_INVALID', { role: input.role });
      }
      const request: AccessRequest = {
        id: newId(),
        role: input.role,
        roleArn,
        issuer: caller.issuer,
        requester: caller.subject,
        groups: [...caller.groups],
        durationSeconds: input.durationSeconds,
        reason,
        ...(input.ticket ? { ticket: input.ticket } : {}),
        breakGlass,
        status: 'pending',
        createdAt: options.now(),
        approvals: [],
      };
      if (!authorize(action, roleArn, contextOf(request))) {
        return refuse(caller, action, 'ERR_ACCESS_FORBIDDEN', { role: input.role });
      }
      await guard(caller, action, () => store.createRequest(request));
      events.event({ type: 'requested', at: request.createdAt, request, actor: caller.subject });
      return request;
    },

    async approve(caller, authorize, id, comment) {
      const action = ACCESS_ACTIONS.approve;
      const r = await mustRequest(caller, action, id);
      const about = { requestId: id, role: r.role };
      const self = isSelf(caller, r.issuer, r.requester);
      if (self && !r.breakGlass) return refuse(caller, action, 'ERR_ACCESS_SELF_APPROVAL', about);
      // Break-glass self-approval was authorized when it was requested (rolegate:BreakGlass).
      if (!self && !authorize(action, r.roleArn, contextOf(r))) {
        return refuse(caller, action, 'ERR_ACCESS_FORBIDDEN', about);
      }
      const needed = r.breakGlass
        ? 1
        : (options.config().roles[r.role]?.approvals ?? options.config().approvals);
      const at = options.now();
      const result = await guard(caller, action, () =>
        store.approve(id, caller.subject, comment, needed, at),
      );
      if (result.granted && result.grant) {
        await options.changed?.();
        events.event({
          type: 'approved',
          at,
          request: result.request,
          grant: result.grant,
          actor: caller.subject,
          comment,
        });
      }
      return result;
    },

    async deny(caller, authorize, id, comment) {
      const action = ACCESS_ACTIONS.approve;
      const r = await mustRequest(caller, action, id);
      const about = { requestId: id, role: r.role };
      // A requester may withdraw their own request; anyone else needs the approve permission.
      if (!isSelf(caller, r.issuer, r.requester) && !authorize(action, r.roleArn, contextOf(r))) {
        return refuse(caller, action, 'ERR_ACCESS_FORBIDDEN', about);
      }
      const at = options.now();
      const denied = await guard(caller, action, () => store.deny(id, caller.subject, comment, at));
      events.event({ type: 'denied', at, request: denied, actor: caller.subject, comment });
      return denied;
    },

    async revoke(caller, authorize, grantId) {
      const action = ACCESS_ACTIONS.revoke;
      const g = await guard(caller, action, () => store.getGrant(grantId));
      if (g === undefined) return refuse(caller, action, 'ERR_ACCESS_NOT_FOUND', { grantId });
      const request = await guard(caller, action, () => store.getRequest(g.requestId));
      // The holder may always give a grant back.
      if (
        !isSelf(caller, g.issuer, g.subject) &&
        !(request && authorize(action, g.roleArn, contextOf(request)))
      ) {
        return refuse(caller, action, 'ERR_ACCESS_FORBIDDEN', { grantId, role: g.role });
      }
      const at = options.now();
      const revoked = await guard(caller, action, () => store.revoke(grantId, caller.subject, at));
      await options.changed?.();
      if (revoked.revokedAt === at) {
        events.event({
          type: 'revoked',
          at,
          grant: revoked,
          ...(request ? { request } : {}),
          actor: caller.subject,
        });
      }
      return revoked;
    },

    async list(caller, authorize, status) {
      const all = await guard(caller, ACCESS_ACTIONS.list, () =>
        store.listRequests(status === undefined ? {} : { status }),
      );
      return all.filter((r) => mayList(caller, authorize, r));
    },

    async show(caller, authorize, id) {
      const r = await mustRequest(caller, ACCESS_ACTIONS.list, id);
      if (!mayList(caller, authorize, r)) {
        return refuse(caller, ACCESS_ACTIONS.list, 'ERR_ACCESS_FORBIDDEN', {
          requestId: id,
          role: r.role,
        });
      }
      return r;
    },

    async grants(caller, authorize) {
      const active = await guard(caller, ACCESS_ACTIONS.list, () =>
        store.activeGrants(options.now()),
      );
      return active.filter(
        (g) =>
          isSelf(caller, g.issuer, g.subject) ||
          authorize(ACCESS_ACTIONS.revoke, g.roleArn, {
            'rolegate:RequestedDuration': Math.round((g.expiresAt - g.startsAt) / 1000),
            'rolegate:Requester': g.subject,
            'rolegate:BreakGlass': g.breakGlass,
          }),
      );
    },

    async sweepExpired() {
      const now = options.now();
      const expired = await store.expiredBetween(sweptUntil, now);
      sweptUntil = now;
      for (const grant of expired) events.event({ type: 'expired', at: grant.expiresAt, grant });
      if (expired.length > 0) await options.changed?.();
      return expired;
    },
  };
}
