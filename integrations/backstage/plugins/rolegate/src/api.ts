/**
 * The frontend's view of the `rolegate` backend plugin (`/api/rolegate`):
 * an API ref and its client. The client finds the backend plugin through
 * Backstage's discovery API and calls it through the fetch API, which adds
 * the signed-in user's Backstage token; the backend plugin passes that
 * token on to rolegate, so every answer is rolegate's decision for the viewer.
 */
import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { createApiRef } from '@backstage/core-plugin-api';

/** How one role reaches one route: by its policies alone, or only under conditions. */
export type Reach = 'allowed' | 'conditional';

/** One route of the entity, and the roles that reach it. */
export interface ReachRoute {
  /** Where rolegate's config declares it, e.g. `$.routes[2]`. */
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly action: string;
  readonly resource: string;
  readonly roles: readonly { readonly role: string; readonly reach: Reach }[];
}

/** rolegate's `GET /v1/access/reach` answer. */
export interface EntityReach {
  readonly entity: string;
  /** The entity's `owner`, `system` and `lifecycle`, as rolegate's catalog source holds them. */
  readonly tags: Readonly<Record<string, string>>;
  readonly routes: readonly ReachRoute[];
}

/** An access request, as rolegate's access API shows it. */
export interface AccessRequest {
  readonly id: string;
  readonly role: string;
  readonly requester: string;
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly breakGlass: boolean;
  readonly status: 'pending' | 'approved' | 'denied';
  readonly createdAt: string;
  readonly grantId?: string;
}

/** A pending request on an entity's page: `approvable` when the viewer owns the entity. */
export interface EntityAccessRequest extends AccessRequest {
  readonly approvable: boolean;
}

/** The backend plugin's `GET /entity-requests` answer. */
export interface EntityRequests {
  readonly entity: string;
  readonly owner?: string;
  readonly viewerOwns: boolean;
  readonly requests: readonly EntityAccessRequest[];
}

/** An active grant, as rolegate's access API shows it. */
export interface Grant {
  readonly id: string;
  readonly requestId: string;
  readonly role: string;
  readonly subject: string;
  readonly expiresAt: string;
  readonly secondsLeft: number;
  readonly breakGlass: boolean;
  readonly revokedAt?: string;
}

/** The request form's fields. */
export interface AccessRequestInput {
  readonly role: string;
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
}

/**
 * A refusal, by rolegate (`code` is its catalogue code, e.g.
 * `ERR_ACCESS_FORBIDDEN`) or by Backstage (`code` is the error's name, e.g.
 * `InputError`); `status` is the HTTP status.
 */
export class RolegateApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RolegateApiError';
  }
}

/** What the card asks of the backend plugin. */
export interface RolegateApi {
  /** The roles that reach entity `entityRef`'s routes. */
  reach(entityRef: string): Promise<EntityReach>;
  /** The viewer's active grants. */
  grants(): Promise<readonly Grant[]>;
  /** The pending requests for the roles that reach `entityRef`. */
  entityRequests(entityRef: string): Promise<EntityRequests>;
  /** Asks for access in the viewer's name. */
  requestAccess(input: AccessRequestInput): Promise<AccessRequest>;
  /** Approves or denies a request as the viewer. */
  decide(id: string, decision: 'approve' | 'deny', comment?: string): Promise<AccessRequest>;
}

/** The API ref of {@link RolegateApi}. */
export const rolegateApiRef = createApiRef<RolegateApi>({ id: 'plugin.rolegate.service' });

/** {@link RolegateApi} over HTTP to the backend plugin with id `rolegate`. */
export class RolegateClient implements RolegateApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  reach(entityRef: string): Promise<EntityReach> {
    return this.call('GET', `/reach?entity=${encodeURIComponent(entityRef)}`);
  }

  async grants(): Promise<readonly Grant[]> {
    return (await this.call<{ grants: Grant[] }>('GET', '/grants')).grants;
  }

  entityRequests(entityRef: string): Promise<EntityRequests> {
    return this.call('GET', `/entity-requests?entity=${encodeURIComponent(entityRef)}`);
  }

  requestAccess(input: AccessRequestInput): Promise<AccessRequest> {
    return this.call('POST', '/requests', input);
  }

  async decide(id: string, decision: 'approve' | 'deny', comment?: string): Promise<AccessRequest> {
    const body = comment === undefined ? {} : { comment };
    const answer = await this.call<{ request: AccessRequest }>(
      'POST',
      `/requests/${encodeURIComponent(id)}/${decision}`,
      body,
    );
    return answer.request;
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    const base = await this.discoveryApi.getBaseUrl('rolegate');
    const res = await this.fetchApi.fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const parsed = parseJson(text);
    if (!res.ok) throw refusal(res.status, parsed);
    return parsed as T;
  }
}

function parseJson(text: string): unknown {
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: 'unreadable answer' };
  }
}

/** rolegate's `{error: "ERR_...", message}` or Backstage's `{error: {name, message}}` as one error. */
function refusal(status: number, body: unknown): RolegateApiError {
  const error = (body as { error?: unknown } | null)?.error;
  if (typeof error === 'string') {
    const message = (body as { message?: unknown }).message;
    return new RolegateApiError(status, error, typeof message === 'string' ? message : error);
  }
  if (typeof error === 'object' && error !== null) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return new RolegateApiError(
      status,
      typeof name === 'string' ? name : `HTTP ${status}`,
      typeof message === 'string' ? message : `HTTP ${status}`,
    );
  }
  return new RolegateApiError(status, `HTTP ${status}`, `HTTP ${status}`);
}
