/**
 * Webhooks: every lifecycle event (requested, approved, denied, revoked,
 * expired) POSTed to each configured URL as JSON, or as a Slack-compatible
 * message (`format: slack`, for Slack incoming webhooks and the many tools
 * that accept their payload). Each delivery is signed when a secret is
 * configured: `x-rolegate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 * of "<t>.<body>">` (see {@link verifyWebhookSignature}). Failed deliveries
 * (network error, 429, 5xx) are retried with exponential backoff and
 * jitter; each webhook gets its events one at a time, in order; deliveries
 * never delay the API call that caused them.
 * Break-glass events go to every webhook whatever its `events` filter.
 *
 * Every string a Slack message carries (requester, role, actor, reason) is
 * escaped for Slack's markup ({@link slackText}): `&`, `<` and `>` become
 * entities, so a reason cannot forge a mention (`<!channel>`, `<@U123>`) or
 * a link (`<http://evil|click>`); control characters (newlines included)
 * become spaces and bidi controls are dropped, so it cannot start a line
 * that looks like another event; and the message is sent with `mrkdwn:
 * false`, so `*`, `_`, `~` and backticks are shown, not applied.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AccessEvent } from './service.js';
import { accessAuditRecord } from './observe.js';
import type { WebhookConfig } from './options.js';
import { slackApprovalBlocks } from './slack.js';

/** The signature header. */
export const SIGNATURE_HEADER = 'x-rolegate-signature';

/** Signs `body` at `t` (unix seconds) with `secret`: the header value. */
export function signWebhook(secret: string, t: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/**
 * For receivers: true when `header` is a valid signature of `body` under
 * `secret`, made within `toleranceSeconds` (default 300) of `nowSeconds`.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = Object.fromEntries(
    header.split(',').map((p) => p.split('=', 2) as [string, string]),
  );
  const t = Number(parts['t']);
  const v1 = parts['v1'];
  if (!Number.isInteger(t) || v1 === undefined || Math.abs(nowSeconds - t) > toleranceSeconds) {
    return false;
  }
  const want = Buffer.from(signWebhook(secret, t, body).split('v1=')[1] as string, 'hex');
  const got = Buffer.from(v1, 'hex');
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * `s` as literal text in a Slack message: `&`, `<`, `>` as the entities
 * Slack decodes (its only escapes), control characters as spaces, bidi
 * embedding, override and isolate controls removed.
 */
export function slackText(s: string): string {
  return s
    .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/\p{Cc}/gu, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * The Slack-compatible message of an event; every value from a caller goes
 * through {@link slackText}. With `actions` (`access.slack` is set), a
 * `requested` event also carries Block Kit approve and deny buttons whose
 * clicks come back to `POST /slack/interactions` (`text` stays as the
 * notification's fallback).
 */
export function slackPayload(
  e: AccessEvent,
  actions = false,
): { text: string; mrkdwn: false; blocks?: object[] } {
  const r = e.request;
  const g = e.grant;
  const who = slackText(r?.requester ?? g?.subject ?? '');
  const role = slackText(r?.role ?? g?.role ?? '');
  const flag = (r?.breakGlass ?? g?.breakGlass) ? ':rotating_light: BREAK-GLASS ' : '';
  const by = e.actor === undefined ? '' : ` by ${slackText(e.actor)}`;
  const until = g ? ` until ${new Date(g.expiresAt).toISOString()}` : '';
  const why =
    r && e.type === 'requested'
      ? ` for ${Math.round(r.durationSeconds / 60)} min: ${slackText(r.reason)}`
      : '';
  const text = `${flag}rolegate: ${who} ${role} access ${e.type}${by}${until}${why}`;
  const pending = actions && e.type === 'requested' && r !== undefined;
  return { text, mrkdwn: false, ...(pending ? { blocks: slackApprovalBlocks(text, r.id) } : {}) };
}

export interface WebhookDeliveryOptions {
  readonly webhooks: readonly WebhookConfig[];
  /** Secret lookup by the name `secretEnv` gives (the environment variable's value; read in src/config). Default: no secret. */
  readonly secret?: (name: string) => string | undefined;
  /** Told of each delivery's final result, for metrics and logs. */
  readonly onResult?: (url: string, event: string, ok: boolean, attempts: number) => void;
  readonly now?: () => number;
  /** Approve and deny buttons on Slack messages of requested events (`access.slack` is set). Default false. */
  readonly slackActions?: boolean;
}

/** Returns the event sink that delivers to every webhook. */
export function createWebhookSender(options: WebhookDeliveryOptions): {
  send(e: AccessEvent): void;
  /** Resolves when every delivery started so far has finished (tests, shutdown). */
  idle(): Promise<void>;
} {
  const inFlight = new Set<Promise<void>>();
  // Per webhook, the delivery the next one waits for (events arrive in order).
  const tails = new Map<WebhookConfig, Promise<void>>();
  const secretOf = options.secret ?? (() => undefined);
  const now = options.now ?? Date.now;

  const deliver = async (hook: WebhookConfig, e: AccessEvent): Promise<void> => {
    const body = JSON.stringify(
      hook.format === 'slack'
        ? slackPayload(e, options.slackActions === true)
        : { id: randomUUID(), type: `access.${e.type}`, ...accessAuditRecord(e) },
    );
    const secret = hook.secretEnv === undefined ? undefined : secretOf(hook.secretEnv);
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'rolegate-webhooks/1',
        'x-rolegate-event': e.type,
      };
      if (secret) headers[SIGNATURE_HEADER] = signWebhook(secret, Math.floor(now() / 1000), body);
      let retry: boolean;
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(hook.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          options.onResult?.(hook.url, e.type, true, attempt);
          return;
        }
        retry = res.status === 429 || res.status >= 500;
      } catch {
        retry = true;
      }
      if (!retry || attempt >= hook.maxAttempts) {
        options.onResult?.(hook.url, e.type, false, attempt);
        return;
      }
      const delay = hook.backoffMs * 2 ** (attempt - 1);
      await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * (delay / 2)));
    }
  };

  return {
    send(e) {
      const breakGlass = e.request?.breakGlass === true || e.grant?.breakGlass === true;
      for (const hook of options.webhooks) {
        if (!breakGlass && hook.events !== undefined && !hook.events.includes(e.type)) continue;
        const p = (tails.get(hook) ?? Promise.resolve())
          .then(() => deliver(hook, e))
          .finally(() => inFlight.delete(p));
        tails.set(hook, p);
        inFlight.add(p);
      }
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
