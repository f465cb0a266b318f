/**
 * CSRF tokens of the approvals page, valid on every worker and replica that
 * shares the access store. Time is cut into periods of `rotateMs`; each
 * period has one random 256-bit key, kept in the store (`access_csrf_keys`)
 * and created by whichever process needs it first (the first insert wins,
 * the others read it back), so no process holds a secret of its own and no
 * job has to rotate anything. A token is `v1.<period>.<HMAC-SHA256(key,
 * issuer, subject, period)>`: bound to the caller's identity and to the
 * period it was minted in. It is accepted during that period and the next
 * one (a form loaded just before a rotation still works) and refused from
 * the period after that on; keys older than the previous period are deleted.
 * A store that cannot be read fails the page closed (`ERR_ACCESS_STORE`).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { RolegateError } from '../errors.js';
import type { AccessStore } from './store.js';

/** Who a token is bound to. */
export interface CsrfIdentity {
  readonly issuer: string;
  readonly subject: string;
}

/** A verification result; a refusal says what was expected and what was found. */
export type CsrfCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly expected: string; readonly actual: string };

export interface CsrfOptions {
  readonly store: Pick<AccessStore, 'csrfKey' | 'getCsrfKey'>;
  readonly now: () => number;
  /** Length of one key period in ms (`access.csrfRotateSeconds` * 1000). */
  readonly rotateMs: number;
}

export interface CsrfTokens {
  /** A token for `who`, under the current period's key (created in the store if needed). */
  mint(who: CsrfIdentity): Promise<string>;
  /** Whether `token` was minted for `who` in this period or the previous one. */
  verify(who: CsrfIdentity, token: string | undefined): Promise<CsrfCheck>;
}

const TOKEN = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/;

/** Keys kept in memory (they never change once created): this period's, the previous one, one spare. */
const CACHED_KEYS = 3;

function mac(key: Buffer, who: CsrfIdentity, period: number): string {
  return createHmac('sha256', key)
    .update(`rolegate-csrf-v1\n${period}\n${who.issuer}\n${who.subject}`)
    .digest('base64url');
}

/** Creates the token minter and verifier over `options.store`. */
export function createCsrfTokens(options: CsrfOptions): CsrfTokens {
  const keys = new Map<number, Buffer>();
  const remember = (period: number, key: Buffer) => {
    keys.set(period, key);
    for (const p of [...keys.keys()].sort((a, b) => a - b)) {
      if (keys.size <= CACHED_KEYS) break;
      keys.delete(p);
    }
    return key;
  };
  const periodOf = (ms: number) => Math.floor(ms / options.rotateMs);

  const keyFor = async (period: number, create: boolean): Promise<Buffer | undefined> => {
    const known = keys.get(period);
    if (known !== undefined) return known;
    let stored: string | undefined;
    try {
      stored = create
        ? await options.store.csrfKey(period, randomBytes(32).toString('base64url'))
        : await options.store.getCsrfKey(period);
    } catch (err) {
      // No key, no form: the page fails closed as the store's other reads do.
      throw new RolegateError(
        'ERR_ACCESS_STORE',
        `the CSRF key of period ${period} could not be ${create ? 'created or read' : 'read'}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    return stored === undefined ? undefined : remember(period, Buffer.from(stored, 'base64url'));
  };

  return {
    async mint(who) {
      const period = periodOf(options.now());
      const key = (await keyFor(period, true)) as Buffer;
      return `v1.${period}.${mac(key, who, period)}`;
    },

    async verify(who, token) {
      const current = periodOf(options.now());
      const accepted = `a v1 token minted for ${who.subject} in key period ${current - 1} or ${current} (${options.rotateMs / 1000} s each)`;
      if (token === undefined || token === '') {
        return { ok: false, expected: accepted, actual: 'no csrf field' };
      }
      const m = TOKEN.exec(token);
      if (!m)
        return { ok: false, expected: accepted, actual: 'a token that is not v1.<period>.<mac>' };
      const period = Number(m[1]);
      if (period !== current && period !== current - 1) {
        return {
          ok: false,
          expected: accepted,
          actual: `a token of key period ${period}${period < current ? `, ${current - period} rotations ago` : ', in the future'}`,
        };
      }
      const key = await keyFor(period, false);
      if (key === undefined) {
        return {
          ok: false,
          expected: accepted,
          actual: `a token of key period ${period}, for which the store holds no key`,
        };
      }
      const want = Buffer.from(mac(key, who, period));
      const got = Buffer.from(m[2] as string);
      if (want.length !== got.length || !timingSafeEqual(want, got)) {
        return {
          ok: false,
          expected: accepted,
          actual: `a token of key period ${period} whose MAC does not match this caller (forged, or minted for someone else)`,
        };
      }
      return { ok: true };
    },
  };
}
