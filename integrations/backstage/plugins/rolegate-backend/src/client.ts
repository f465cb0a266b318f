/**
 * rolegate's access API (`/v1/access`, docs/access.md) as the plugin calls
 * it: always with the viewer's own `Authorization` header, so rolegate
 * decides each call on the viewer's identity and the plugin holds no
 * credential of its own.
 */

/** A request for just-in-time access, as rolegate's `POST /v1/access/requests` takes it. */
export interface AccessRequestInput {
  readonly role: string;
  readonly durationSeconds: number;
  readonly reason: string;
  readonly ticket?: string;
  readonly breakGlass?: boolean;
}

/** rolegate's answer, passed on as it is: its error bodies are generic by design. */
export interface RolegateAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Options of {@link RolegateAccessClient}. */
export interface RolegateAccessClientOptions {
  /**
   * Base URL of rolegate's access listener, e.g. `http://rolegate:9004`,
   * read at each call so an app-config reload applies without a restart.
   */
  readonly accessUrl: () => string;
  /** Longest wait for one rolegate call in ms; default 5000. */
  readonly timeoutMs?: number;
}

/** The fields of {@link AccessRequestInput}, and only those, go to rolegate. */
const REQUEST_FIELDS = ['role', 'durationSeconds', 'reason', 'ticket', 'breakGlass'] as const;

/** Calls rolegate's access API on behalf of one viewer per call. */
export class RolegateAccessClient {
  private readonly accessUrl: () => string;
  private readonly timeoutMs: number;

  constructor(options: RolegateAccessClientOptions) {
    this.accessUrl = options.accessUrl;
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** The active grants the viewer holds (or may revoke). */
  listGrants(authorization: string): Promise<RolegateAnswer> {
    return this.call('GET', '/v1/access/grants', authorization);
  }

  /** The viewer's requests and those the viewer may list; `status` filters, e.g. `pending`. */
  listRequests(authorization: string, status?: string): Promise<RolegateAnswer> {
    const query = status === undefined ? '' : `?status=${encodeURIComponent(status)}`;
    return this.call('GET', `/v1/access/requests${query}`, authorization);
  }

  /**
   * Which roles reach the catalog entity `entity` (an entity ref), and the
   * entity's tags as rolegate's catalog source holds them.
   */
  reach(authorization: string, entity: string): Promise<RolegateAnswer> {
    return this.call('GET', `/v1/access/reach?entity=${encodeURIComponent(entity)}`, authorization);
  }

  /**
   * Approves or denies request `id` as the viewer; rolegate's own policies
   * (`rolegate:ApproveAccessRequest` on the role) decide whether they may.
   */
  decide(
    authorization: string,
    id: string,
    decision: 'approve' | 'deny',
    comment?: string,
  ): Promise<RolegateAnswer> {
    return this.call(
      'POST',
      `/v1/access/requests/${encodeURIComponent(id)}/${decision}`,
      authorization,
      comment === undefined ? {} : { comment },
    );
  }

  /** Creates an access request in the viewer's name. */
  createRequest(authorization: string, input: AccessRequestInput): Promise<RolegateAnswer> {
    const body: Record<string, unknown> = {};
    for (const field of REQUEST_FIELDS) if (input[field] !== undefined) body[field] = input[field];
    return this.call('POST', '/v1/access/requests', authorization, body);
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    authorization: string,
    body?: Record<string, unknown>,
  ): Promise<RolegateAnswer> {
    const headers: Record<string, string> = { authorization, accept: 'application/json' };
    // rolegate's API takes JSON bodies only, and refuses a GET declaring any other type.
    if (body !== undefined) headers['content-type'] = 'application/json';
    const base = this.accessUrl().replace(/\/+$/, '');
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as unknown) };
  }
}
