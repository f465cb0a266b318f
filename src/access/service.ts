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
import { visibleLength } from './visible.js';
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

/**
 * A verdict on an access action with, for a refusal, the operator's
 * explanation: which layer (trust, guardrail, identity policy, boundary)
 * and statement stopped it (`src/check/access-actions.ts` gives one).
 */
export interface ActionVerdict {
  readonly allowed: boolean;
  /** Called only when the refusal is reported; never sent to the client. */
  readonly explain?: () => string;
}

/**
 * Whether the caller's own roles allow `action` on `roleArn` under
 * `context`: a boolean, or a verdict that can say why not.
 */
export type ActionAuthorizer = (
  action: AccessAction,
  roleArn: string,
  context: AccessContext,
) => boolean | ActionVerdict;

/** The authorizer's answer as a verdict; anything but `allowed: true` refuses (fail closed). */
function decide(
  authorize: ActionAuthorizer,
  action: AccessAction,
  roleArn: string,
  context: AccessContext,
): ActionVerdict {
  const verdict = authorize(action, roleArn, context);
  if (typeof verdict === 'boolean') return { allowed: verdict };
  return verdict.allowed === true ? verdict : { ...verdict, allowed: false };
}

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
  /** For the operator: what the call had to be (never sent to the client). */
  readonly expected?: string;
  /** For the operator: what it was. */
  readonly actual?: string;
}

/** Why a call was refused, for the operator. */
export interface RefusalDetail {
  readonly expected: string;
  readonly actual: string;
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

/** Shortest reason accepted for break-glass (it is the only record of why), in visible characters. */
export const BREAK_GLASS_MIN_REASON = 10;

/** Shortest reason accepted for any request, in visible characters (see `visible.ts`). */
export const MIN_REASON = 1;

/** Shortest duration of any request, in seconds. */
export const MIN_DURATION_SECONDS = 60;

/** A client-supplied value for an operator's message: JSON-quoted, at most 80 characters. */
export function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

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

/** What a refusal is about, for the audit record. */
type About = { requestId?: string; grantId?: string; role?: string };

/** What an authorizer that gives no explanation leaves the operator with. */
const UNEXPLAINED = "no Allow in the caller's roles, or a Deny";

/**
 * Why the caller's roles did not allow `action` on `roleArn` (for request
 * `r`, when known): the layer and statement that stopped it when the
 * verdict says (`verdict.explain`).
 */
function forbidden(
  action: string,
  roleArn: string,
  r?: AccessRequest,
  verdict?: ActionVerdict,
): RefusalDetail {
  return {
    expected: `an Allow of ${action} on ${roleArn}${r ? ` with rolegate:RequestedDuration=${r.durationSeconds}, rolegate:BreakGlass=${r.breakGlass}` : ''} in the caller's roles (by trust), and no Deny`,
    actual: verdict?.explain?.() ?? UNEXPLAINED,
  };
}

/** The context values an action on request `r` is decided with. */
function contextOf(r: AccessRequest): AccessContext {
  return {
    'rolegate:RequestedDuration': r.durationSeconds,
    'rolegate:Requester': r.requester,
    'rolegate:RequesterGroups': r.groups,
    'rolegate:BreakGlass': r.breakGlass,
  };
}

/** The context values of a grant, for deciding whether the caller may revoke (so list) it. */
function grantContext(g: Grant): AccessContext {
  return {
    'rolegate:RequestedDuration': Math.round((g.expiresAt - g.startsAt) / 1000),
    'rolegate:Requester': g.subject,
    'rolegate:BreakGlass': g.breakGlass,
  };
}

/** Creates the service. */
export function createAccessService(options: AccessServiceOptions): AccessService {
  return new StoreAccessService(options);
}

/** The lifecycle rules over the store: one method per {@link AccessService} operation. */
class StoreAccessService implements AccessService {
  private readonly options: AccessServiceOptions;
  private readonly store: AccessStore;
  private readonly events: AccessEvents;
  private readonly newId: () => string;
  /** Expiries up to here have been reported by {@link sweepExpired}. */
  private sweptUntil: number;

  constructor(options: AccessServiceOptions) {
    this.options = options;
    this.store = options.store;
    this.events = options.events;
    this.newId = options.newId ?? randomUUID;
    this.sweptUntil = options.now();
  }

  async request(
    caller: Caller,
    authorize: ActionAuthorizer,
    input: NewRequest,
  ): Promise<AccessRequest> {
    const action = ACCESS_ACTIONS.request;
    const { roleArn, breakGlass, reason } = this.checkNewRequest(caller, input);
    const about = { role: input.role };
    const request: AccessRequest = {
      id: this.newId(),
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
      createdAt: this.options.now(),
      approvals: [],
    };
    const verdict = decide(authorize, action, roleArn, contextOf(request));
    if (!verdict.allowed) {
      return this.refuse(
        caller,
        action,
        'ERR_ACCESS_FORBIDDEN',
        about,
        forbidden(action, roleArn, request, verdict),
      );
    }
    await this.guard(caller, action, () => this.store.createRequest(request), about);
    this.events.event({ type: 'requested', at: request.createdAt, request, actor: caller.subject });
    return request;
  }

  async approve(
    caller: Caller,
    authorize: ActionAuthorizer,
    id: string,
    comment: string,
  ): Promise<ApproveResult> {
    const action = ACCESS_ACTIONS.approve;
    const r = await this.mustRequest(caller, action, id);
    const about = { requestId: id, role: r.role };
    const self = isSelf(caller, r.issuer, r.requester);
    if (self && !r.breakGlass) {
      return this.refuse(caller, action, 'ERR_ACCESS_SELF_APPROVAL', about, {
        expected: `an approver other than the requester ${r.requester} (${r.issuer}), or a break-glass request`,
        actual: `the requester approving their own request, not break-glass`,
      });
    }
    // Break-glass self-approval was authorized when it was requested (rolegate:BreakGlass).
    if (!self) this.mustBeAllowed(caller, authorize, action, r, about);
    const config = this.options.config();
    const needed = r.breakGlass ? 1 : (config.roles[r.role]?.approvals ?? config.approvals);
    const at = this.options.now();
    const result = await this.guard(
      caller,
      action,
      () => this.store.approve(id, caller.subject, comment, needed, at),
      about,
    );
    if (result.granted && result.grant) {
      await this.options.changed?.();
      this.events.event({
        type: 'approved',
        at,
        request: result.request,
        grant: result.grant,
        actor: caller.subject,
        comment,
      });
    }
    return result;
  }

  async deny(
    caller: Caller,
    authorize: ActionAuthorizer,
    id: string,
    comment: string,
  ): Promise<AccessRequest> {
    const action = ACCESS_ACTIONS.approve;
    const r = await this.mustRequest(caller, action, id);
    const about = { requestId: id, role: r.role };
    // A requester may withdraw their own request; anyone else needs the approve permission.
    if (!isSelf(caller, r.issuer, r.requester)) {
      this.mustBeAllowed(caller, authorize, action, r, about);
    }
    const at = this.options.now();
    const denied = await this.guard(
      caller,
      action,
      () => this.store.deny(id, caller.subject, comment, at),
      about,
    );
    this.events.event({ type: 'denied', at, request: denied, actor: caller.subject, comment });
    return denied;
  }

  async revoke(caller: Caller, authorize: ActionAuthorizer, grantId: string): Promise<Grant> {
    const action = ACCESS_ACTIONS.revoke;
    const g = await this.guard(caller, action, () => this.store.getGrant(grantId), { grantId });
    if (g === undefined) {
      return this.refuse(
        caller,
        action,
        'ERR_ACCESS_NOT_FOUND',
        { grantId },
        { expected: 'an existing grant id', actual: `no grant ${shown(grantId)}` },
      );
    }
    const about = { grantId, role: g.role };
    const request = await this.guard(
      caller,
      action,
      () => this.store.getRequest(g.requestId),
      about,
    );
    // The holder may always give a grant back.
    const verdict: ActionVerdict = isSelf(caller, g.issuer, g.subject)
      ? { allowed: true }
      : request
        ? decide(authorize, action, g.roleArn, contextOf(request))
        : { allowed: false, explain: () => `the request ${g.requestId} of the grant is gone` };
    if (!verdict.allowed) {
      const why = forbidden(action, g.roleArn, request, verdict);
      return this.refuse(caller, action, 'ERR_ACCESS_FORBIDDEN', about, {
        expected: `the holder ${g.subject}, or ${why.expected}`,
        actual: why.actual,
      });
    }
    const at = this.options.now();
    const revoked = await this.guard(
      caller,
      action,
      () => this.store.revoke(grantId, caller.subject, at),
      about,
    );
    await this.options.changed?.();
    if (revoked.revokedAt === at) {
      this.events.event({
        type: 'revoked',
        at,
        grant: revoked,
        ...(request ? { request } : {}),
        actor: caller.subject,
      });
    }
    return revoked;
  }

  async list(
    caller: Caller,
    authorize: ActionAuthorizer,
    status?: AccessRequest['status'],
  ): Promise<AccessRequest[]> {
    const all = await this.guard(caller, ACCESS_ACTIONS.list, () =>
      this.store.listRequests(status === undefined ? {} : { status }),
    );
    return all.filter((r) => this.mayList(caller, authorize, r));
  }

  async show(caller: Caller, authorize: ActionAuthorizer, id: string): Promise<AccessRequest> {
    const action = ACCESS_ACTIONS.list;
    const r = await this.mustRequest(caller, action, id);
    const verdict = isSelf(caller, r.issuer, r.requester)
      ? { allowed: true }
      : decide(authorize, action, r.roleArn, contextOf(r));
    if (!verdict.allowed) {
      const why = forbidden(action, r.roleArn, r, verdict);
      return this.refuse(
        caller,
        action,
        'ERR_ACCESS_FORBIDDEN',
        { requestId: id, role: r.role },
        { expected: `the requester ${r.requester}, or ${why.expected}`, actual: why.actual },
      );
    }
    return r;
  }

  async grants(caller: Caller, authorize: ActionAuthorizer): Promise<Grant[]> {
    const active = await this.guard(caller, ACCESS_ACTIONS.list, () =>
      this.store.activeGrants(this.options.now()),
    );
    return active.filter(
      (g) =>
        isSelf(caller, g.issuer, g.subject) ||
        decide(authorize, ACCESS_ACTIONS.revoke, g.roleArn, grantContext(g)).allowed,
    );
  }

  async sweepExpired(): Promise<Grant[]> {
    const now = this.options.now();
    const expired = await this.store.expiredBetween(this.sweptUntil, now);
    this.sweptUntil = now;
    for (const grant of expired) this.events.event({ type: 'expired', at: grant.expiresAt, grant });
    if (expired.length > 0) await this.options.changed?.();
    return expired;
  }

  /**
   * The ARN, break-glass flag and trimmed reason of a new request, after
   * the rules no policy can lift: a role listed under `access.roles` (and
   * `roles`), break-glass only where the role has it, a duration within the
   * role's bounds, a reason of enough visible characters. Refuses otherwise.
   */
  private checkNewRequest(
    caller: Caller,
    input: NewRequest,
  ): { roleArn: string; breakGlass: boolean; reason: string } {
    const action = ACCESS_ACTIONS.request;
    const config = this.options.config();
    const roleArn = this.options.roleArn(input.role);
    const roleAccess = Object.hasOwn(config.roles, input.role)
      ? config.roles[input.role]
      : undefined;
    const about = { role: input.role };
    if (roleArn === undefined || roleAccess === undefined) {
      return this.refuse(caller, action, 'ERR_ACCESS_INVALID', about, {
        expected: `a role listed under access.roles and roles (${Object.keys(config.roles).join(', ') || 'none'})`,
        actual: `role ${shown(input.role)} is not under ${roleAccess === undefined ? 'access.roles' : 'roles'}`,
      });
    }
    const breakGlass = input.breakGlass === true;
    const limit = breakGlass ? 'breakGlass.maxSeconds' : 'maxGrantSeconds';
    const max = breakGlass ? roleAccess.breakGlass?.maxSeconds : roleAccess.maxGrantSeconds;
    if (max === undefined) {
      return this.refuse(caller, action, 'ERR_ACCESS_INVALID', about, {
        expected: `a role with access.roles.${input.role}.breakGlass for a break-glass request`,
        actual: `breakGlass requested, but role ${input.role} has no access.roles.${input.role}.breakGlass`,
      });
    }
    const d = input.durationSeconds;
    if (!Number.isInteger(d) || d < MIN_DURATION_SECONDS || d > max) {
      return this.refuse(caller, action, 'ERR_ACCESS_INVALID', about, {
        expected: `durationSeconds an integer from ${MIN_DURATION_SECONDS} to ${max} (access.roles.${input.role}.${limit})`,
        actual: !Number.isInteger(d)
          ? `durationSeconds ${shown(d)} is not a whole number of seconds`
          : d < MIN_DURATION_SECONDS
            ? `durationSeconds ${d} is below the minimum ${MIN_DURATION_SECONDS}`
            : `durationSeconds ${d} exceeds ${input.role}'s ${limit} ${max}`,
      });
    }
    const reason = input.reason.trim();
    const min = breakGlass ? BREAK_GLASS_MIN_REASON : MIN_REASON;
    const visible = visibleLength(reason);
    if (visible < min) {
      return this.refuse(caller, action, 'ERR_ACCESS_INVALID', about, {
        expected: `a reason of at least ${min} visible character${min === 1 ? '' : 's'}${breakGlass ? ' (break-glass)' : ''}`,
        actual: `reason has ${visible} visible of ${[...input.reason].length} code points, fewer than ${min}`,
      });
    }
    return { roleArn, breakGlass, reason };
  }

  /** Reports the refusal to {@link AccessEvents.refused} and throws it, marked audited. */
  /** Refuses (ERR_ACCESS_FORBIDDEN, audited with the layer and statement) unless rolegate's own policies allow `action` on request `r`. */
  private mustBeAllowed(
    caller: Caller,
    authorize: ActionAuthorizer,
    action: AccessAction,
    r: AccessRequest,
    about: About,
  ): void {
    const verdict = decide(authorize, action, r.roleArn, contextOf(r));
    if (!verdict.allowed) {
      this.refuse(
        caller,
        action,
        'ERR_ACCESS_FORBIDDEN',
        about,
        forbidden(action, r.roleArn, r, verdict),
      );
    }
  }

  private refuse(
    caller: Caller,
    action: string,
    code: ErrorCode,
    about: About,
    why: RefusalDetail,
  ): never {
    this.events.refused({
      at: this.options.now(),
      action,
      code,
      actor: caller.subject,
      issuer: caller.issuer,
      ...about,
      expected: why.expected,
      actual: why.actual,
    });
    // The message is the operator's detail (the access API answers the client
    // with the catalogue's generic text and the code only).
    throw markAudited(new RolegateError(code, why.actual));
  }

  /**
   * `run`'s answer. A store failure is a refusal of its own (nothing
   * changed), never an allow. A state the store refuses (no longer pending,
   * gone) is explained by re-reading the record.
   */
  private async guard<T>(
    caller: Caller,
    action: string,
    run: () => Promise<T>,
    about: About = {},
  ): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isAudited(err)) throw err;
      if (err instanceof RolegateError && err.code === 'ERR_ACCESS_STATE') {
        const now = about.requestId
          ? await this.store.getRequest(about.requestId).catch(() => undefined)
          : undefined;
        return this.refuse(caller, action, err.code, about, {
          expected: 'a pending request',
          actual: now
            ? `request ${now.id} is ${now.status}`
            : 'a request that is no longer pending',
        });
      }
      if (err instanceof RolegateError && err.code === 'ERR_ACCESS_NOT_FOUND') {
        return this.refuse(caller, action, err.code, about, {
          expected: 'an existing request or grant',
          actual: `none with id ${shown(about.requestId ?? about.grantId)}`,
        });
      }
      return this.refuse(caller, action, 'ERR_ACCESS_STORE', about, {
        expected: 'the access store to answer',
        actual: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
  }

  /** The request `id`, or a refusal: `ERR_ACCESS_NOT_FOUND`. */
  private async mustRequest(caller: Caller, action: string, id: string): Promise<AccessRequest> {
    const found = await this.guard(caller, action, () => this.store.getRequest(id));
    return (
      found ??
      this.refuse(
        caller,
        action,
        'ERR_ACCESS_NOT_FOUND',
        { requestId: id },
        { expected: 'an existing request id', actual: `no request ${shown(id)}` },
      )
    );
  }

  /** True when the caller may see `r`: their own, or one whose role they may list. */
  private mayList(caller: Caller, authorize: ActionAuthorizer, r: AccessRequest): boolean {
    return (
      isSelf(caller, r.issuer, r.requester) ||
      decide(authorize, ACCESS_ACTIONS.list, r.roleArn, contextOf(r)).allowed
    );
  }
}
