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
import { grantActive, type AccessEventType, type AccessRequest, type Grant } from './model.js';
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
  /** Evaluated on the requester's own roles when a request is made: rolegate approves it. */
  autoApprove: 'rolegate:AutoApprove',
} as const;

/** Who a request approved by rolegate's own policy names as its approver. */
export const POLICY_APPROVER = 'rolegate (policy)';

/** Who revokes a grant nobody used for `access.revokeUnusedAfterSeconds`. */
export const UNUSED_REVOKER = 'rolegate (unused)';

/** Most roles in one request. */
export const MAX_ROLES_PER_REQUEST = 5;

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
  /** For an allow: the role and statement(s) that allowed it (audit). */
  readonly by?: string;
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
  /** An IAM policy document narrowing the role for the grant (as an STS session policy). */
  readonly sessionPolicy?: unknown;
}

/** A request for several roles at once: approved role by role, ending together. */
export interface NewBundle extends Omit<NewRequest, 'role'> {
  readonly roles: readonly string[];
}

/**
 * A session policy checked by the policy engine: its compact JSON text,
 * or the problems (file, statement and JSON path) that refuse it.
 */
export type SessionPolicyCheck =
  | { readonly ok: true; readonly json: string }
  | { readonly ok: false; readonly problems: readonly string[] };

/** A grant as a review lists it. */
export interface ReviewedGrant {
  readonly grant: Grant;
  /** True while it is active at the review's time. */
  readonly active: boolean;
  /** Checks allowed under it (as last recorded). */
  readonly uses: number;
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
  /** Checks a session policy with the policy engine. Default: session policies are refused. */
  readonly sessionPolicy?: (document: unknown) => SessionPolicyCheck;
  /** Whether a requester is on call now (`rolegate:OnCall`). Default: never. */
  readonly onCall?: (subject: string, groups: readonly string[]) => boolean;
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

/**
 * Longest session policy, in characters of compact JSON: STS's bound for an
 * inline session policy (AssumeRole `Policy`, IAM User Guide "Session
 * policies").
 */
export const SESSION_POLICY_MAX_CHARS = 2048;

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/**
 * The minute of the day (0-1439) and the day of the week (`Mon`...) of
 * `nowMs` in the IANA time zone `timeZone`, for `rolegate:MinuteOfDay` and
 * `rolegate:DayOfWeek` (business hours, on-call windows).
 */
export function localMoment(
  nowMs: number,
  timeZone: string,
): { minuteOfDay: number; dayOfWeek: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
  }).formatToParts(nowMs);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const minuteOfDay = Number(part('hour')) * 60 + Number(part('minute'));
  const day = part('weekday');
  return { minuteOfDay, dayOfWeek: WEEKDAYS.find((d) => d === day) ?? day };
}

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
  /** One request per role, sharing a bundle id; every role allowed or none is requested. */
  requestRoles(
    caller: Caller,
    authorize: ActionAuthorizer,
    input: NewBundle,
  ): Promise<AccessRequest[]>;
  /**
   * Grants held at some time in the last `windowSeconds`, the caller's own
   * and those they may list, with their use: unused first, then by use.
   */
  review(
    caller: Caller,
    authorize: ActionAuthorizer,
    windowSeconds: number,
  ): Promise<ReviewedGrant[]>;
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
  /** Revokes grants unused for `access.revokeUnusedAfterSeconds` (none when unset). */
  revokeUnused(): Promise<Grant[]>;
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

/** The context values of request `r` itself (the service adds the moment's, see `contextOf`). */
function requestContext(r: AccessRequest): AccessContext {
  return {
    'rolegate:RequestedDuration': r.durationSeconds,
    'rolegate:Requester': r.requester,
    'rolegate:RequesterGroups': r.groups,
    'rolegate:BreakGlass': r.breakGlass,
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
    const { role, ...rest } = input;
    const [made] = await this.create(caller, authorize, { ...rest, roles: [role] }, undefined);
    return made as AccessRequest;
  }

  async requestRoles(
    caller: Caller,
    authorize: ActionAuthorizer,
    input: NewBundle,
  ): Promise<AccessRequest[]> {
    const roles = input.roles;
    if (
      roles.length === 0 ||
      roles.length > MAX_ROLES_PER_REQUEST ||
      new Set(roles).size !== roles.length
    ) {
      return this.refuse(
        caller,
        ACCESS_ACTIONS.request,
        'ERR_ACCESS_INVALID',
        {},
        {
          expected: `roles: 1 to ${MAX_ROLES_PER_REQUEST} distinct role names`,
          actual: `roles ${shown(roles)}`,
        },
      );
    }
    return this.create(caller, authorize, input, roles.length > 1 ? this.newId() : undefined);
  }

  /**
   * Checks every role of `input` against the rules and rolegate's own
   * policies before storing any (all or none), stores them, and lets
   * rolegate's policy approve those it allows (`rolegate:AutoApprove`).
   */
  private async create(
    caller: Caller,
    authorize: ActionAuthorizer,
    input: NewBundle,
    bundleId: string | undefined,
  ): Promise<AccessRequest[]> {
    const action = ACCESS_ACTIONS.request;
    const sessionPolicy = this.checkSessionPolicy(
      caller,
      input.roles[0] ?? '',
      input.sessionPolicy,
    );
    const createdAt = this.options.now();
    const requests = input.roles.map((role): AccessRequest => {
      const { roleArn, breakGlass, reason } = this.checkNewRequest(caller, { ...input, role });
      return {
        id: this.newId(),
        role,
        roleArn,
        issuer: caller.issuer,
        requester: caller.subject,
        groups: [...caller.groups],
        durationSeconds: input.durationSeconds,
        reason,
        ...(input.ticket ? { ticket: input.ticket } : {}),
        breakGlass,
        status: 'pending',
        createdAt,
        approvals: [],
        ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
        ...(bundleId === undefined ? {} : { bundleId }),
      };
    });
    for (const request of requests) {
      const verdict = decide(authorize, action, request.roleArn, this.contextOf(request));
      if (!verdict.allowed) {
        return this.refuse(
          caller,
          action,
          'ERR_ACCESS_FORBIDDEN',
          { role: request.role },
          forbidden(action, request.roleArn, request, verdict),
        );
      }
    }
    await this.guard(caller, action, () => this.store.createRequests(requests), {
      role: input.roles.join(','),
    });
    const out: AccessRequest[] = [];
    for (const request of requests) {
      this.events.event({ type: 'requested', at: createdAt, request, actor: caller.subject });
      out.push(await this.approveByPolicy(caller, authorize, request));
    }
    return out;
  }

  /**
   * Approves `r` when the requester's own roles allow `rolegate:AutoApprove`
   * on its role, from a statement that says so for the requester's own
   * request (`rolegate:SelfApproval`; see {@link explicitlySelf}). The
   * approval names the statement. Otherwise `r` stays pending.
   */
  private async approveByPolicy(
    caller: Caller,
    authorize: ActionAuthorizer,
    r: AccessRequest,
  ): Promise<AccessRequest> {
    const action = ACCESS_ACTIONS.autoApprove;
    const verdict = this.explicitlySelf(authorize, action, r);
    if (verdict === undefined) return r;
    const by = verdict.by ?? `${action} on ${r.roleArn}`;
    const at = this.options.now();
    const result = await this.guard(
      caller,
      action,
      () => this.store.approve(r.id, POLICY_APPROVER, `approved by policy: ${by}`, 1, at, by),
      { requestId: r.id, role: r.role },
    );
    await this.announceGrant(result, at, POLICY_APPROVER, `approved by policy: ${by}`);
    return result.request;
  }

  /**
   * The verdict on `action` for the requester's own request `r` when a
   * statement allows it *because* it is their own (allowed with
   * `rolegate:SelfApproval` true, not allowed without the key); undefined
   * otherwise. A wildcard Allow (`rolegate:*`, `*`) with no condition on
   * the key never lets anyone approve their own request.
   */
  private explicitlySelf(
    authorize: ActionAuthorizer,
    action: AccessAction,
    r: AccessRequest,
  ): ActionVerdict | undefined {
    const { 'rolegate:SelfApproval': _, ...without } = this.contextOf(r);
    const self = decide(authorize, action, r.roleArn, {
      ...without,
      'rolegate:SelfApproval': true,
    });
    if (!self.allowed) return undefined;
    return decide(authorize, action, r.roleArn, without).allowed ? undefined : self;
  }

  /**
   * The session policy's compact JSON, checked by the policy engine and
   * bounded as STS bounds an inline session policy (2,048 characters); a
   * refusal names what is wrong. Undefined when the request has none.
   */
  private checkSessionPolicy(caller: Caller, role: string, document: unknown): string | undefined {
    if (document === undefined) return undefined;
    const action = ACCESS_ACTIONS.request;
    const checked = this.options.sessionPolicy?.(document) ?? {
      ok: false as const,
      problems: ['session policies are not enabled here'],
    };
    if (!checked.ok) {
      return this.refuse(
        caller,
        action,
        'ERR_ACCESS_INVALID',
        { role },
        {
          expected: 'sessionPolicy: a valid IAM policy document',
          actual: `sessionPolicy: ${checked.problems.join('; ')}`,
        },
      );
    }
    if (checked.json.length > SESSION_POLICY_MAX_CHARS) {
      return this.refuse(
        caller,
        action,
        'ERR_ACCESS_INVALID',
        { role },
        {
          expected: `sessionPolicy of at most ${SESSION_POLICY_MAX_CHARS} characters of compact JSON (as STS)`,
          actual: `sessionPolicy of ${checked.json.length} characters`,
        },
      );
    }
    return checked.json;
  }

  /**
   * The context an action on request `r` is decided with: the request's
   * keys, whether the requester is on call, and the time of day and day of
   * week in `access.timeZone` (default UTC).
   */
  private contextOf(r: AccessRequest): AccessContext {
    const now = this.options.now();
    const { minuteOfDay, dayOfWeek } = localMoment(now, this.options.config().timeZone);
    return {
      ...requestContext(r),
      'rolegate:SelfApproval': false,
      'rolegate:OnCall': this.options.onCall?.(r.requester, r.groups) ?? false,
      'rolegate:MinuteOfDay': minuteOfDay,
      'rolegate:DayOfWeek': dayOfWeek,
    };
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
    // Nobody approves their own request, unless a statement says so for exactly that
    // (rolegate:SelfApproval) or it is break-glass (authorized when it was requested).
    if (self && !r.breakGlass && this.explicitlySelf(authorize, action, r) === undefined) {
      return this.refuse(caller, action, 'ERR_ACCESS_SELF_APPROVAL', about, {
        expected: `an approver other than the requester ${r.requester} (${r.issuer}), a break-glass request, or an Allow of ${action} that holds only with rolegate:SelfApproval true`,
        actual: `the requester approving their own request, not break-glass, and no statement allows self-approval explicitly`,
      });
    }
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
    await this.announceGrant(result, at, caller.subject, comment);
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
        ? decide(authorize, action, g.roleArn, this.contextOf(request))
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
      : decide(authorize, action, r.roleArn, this.contextOf(r));
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
    // As revoke() decides: with the request's own context (a grant lacks keys a Deny may test).
    const requests = await this.guard(caller, ACCESS_ACTIONS.list, () =>
      Promise.all(
        active.map((g) =>
          isSelf(caller, g.issuer, g.subject) ? undefined : this.store.getRequest(g.requestId),
        ),
      ),
    );
    return active.filter((g, i) => {
      if (isSelf(caller, g.issuer, g.subject)) return true;
      const r = requests[i];
      return (
        r !== undefined &&
        decide(authorize, ACCESS_ACTIONS.revoke, g.roleArn, this.contextOf(r)).allowed
      );
    });
  }

  async review(
    caller: Caller,
    authorize: ActionAuthorizer,
    windowSeconds: number,
  ): Promise<ReviewedGrant[]> {
    const now = this.options.now();
    const held = await this.guard(caller, ACCESS_ACTIONS.list, () =>
      this.store.grantsBetween(now - windowSeconds * 1000, now),
    );
    // Another's grant is shown when its request could be listed (mayList), decided with the
    // request's own context: a grant lacks keys (rolegate:RequesterGroups...) a Deny may test.
    const others = held.filter((g) => !isSelf(caller, g.issuer, g.subject));
    const requests = await this.guard(caller, ACCESS_ACTIONS.list, () =>
      Promise.all(others.map((g) => this.store.getRequest(g.requestId))),
    );
    const listable = new Set(
      requests
        .filter((r): r is AccessRequest => r !== undefined && this.mayList(caller, authorize, r))
        .map((r) => r.id),
    );
    const visible = held.filter(
      (g) => isSelf(caller, g.issuer, g.subject) || listable.has(g.requestId),
    );
    return visible
      .map((grant) => ({ grant, active: grantActive(grant, now), uses: grant.uses ?? 0 }))
      .sort((a, b) => a.uses - b.uses || a.grant.startsAt - b.grant.startsAt);
  }

  /**
   * Revokes active grants nobody used for `access.revokeUnusedAfterSeconds`
   * (counted from the last recorded use, else from the grant's start), each
   * with a `revoked` audit record by {@link UNUSED_REVOKER}.
   */
  async revokeUnused(): Promise<Grant[]> {
    const idleSeconds = this.options.config().revokeUnusedAfterSeconds;
    if (idleSeconds === undefined) return [];
    const now = this.options.now();
    const idle = (await this.store.activeGrants(now)).filter(
      (g) => (g.lastUsedAt ?? g.startsAt) + idleSeconds * 1000 <= now,
    );
    const revoked: Grant[] = [];
    for (const g of idle) {
      const done = await this.store.revoke(g.id, UNUSED_REVOKER, now);
      if (done.revokedAt !== now) continue;
      revoked.push(done);
      this.events.event({
        type: 'revoked',
        at: now,
        grant: done,
        actor: UNUSED_REVOKER,
        comment: `no Check used it for ${idleSeconds} s (access.revokeUnusedAfterSeconds)`,
      });
    }
    if (revoked.length > 0) await this.options.changed?.();
    return revoked;
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

  /** When an approval made the grant: the cache refreshed first, then the `approved` event. */
  private async announceGrant(
    result: ApproveResult,
    at: number,
    actor: string,
    comment: string,
  ): Promise<void> {
    if (!result.granted || !result.grant) return;
    await this.options.changed?.();
    this.events.event({
      type: 'approved',
      at,
      request: result.request,
      grant: result.grant,
      actor,
      comment,
    });
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
    const verdict = decide(authorize, action, r.roleArn, this.contextOf(r));
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
      decide(authorize, ACCESS_ACTIONS.list, r.roleArn, this.contextOf(r)).allowed
    );
  }
}
