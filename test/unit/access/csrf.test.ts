/**
 * CSRF tokens whose keys live in the access store: two store clients on one
 * SQLite file (as two cluster workers or two replicas open it) share them,
 * so a token minted through one verifies through the other; the key
 * rotates every period, a token stays good for its period and the next,
 * and is refused from two rotations on; it is bound to the caller. The
 * clock is frozen and moved by hand.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createCsrfTokens, type CsrfTokens } from '../../../src/access/csrf.js';
import { openSqliteStore } from '../../../src/access/sqlite-store.js';
import type { AccessStore } from '../../../src/access/store.js';

const HOUR = 3_600_000;
// The start of an hour (key period 525960), so "one period later" is a rotation.
const T0 = Date.parse('2030-01-01T00:00:00Z');
const alice = { issuer: 'https://idp.example.com', subject: 'alice' };
const carol = { issuer: 'https://idp.example.com', subject: 'carol' };

let now: number;
let a: AccessStore;
let b: AccessStore;
let onA: CsrfTokens;
let onB: CsrfTokens;

beforeEach(() => {
  now = T0;
  const file = join(mkdtempSync(join(tmpdir(), 'rolegate-csrf-')), 'access.db');
  a = openSqliteStore(file);
  b = openSqliteStore(file);
  onA = createCsrfTokens({ store: a, now: () => now, rotateMs: HOUR });
  onB = createCsrfTokens({ store: b, now: () => now, rotateMs: HOUR });
});

afterEach(async () => {
  await a.close();
  await b.close();
});

describe('CSRF tokens with keys in the store', () => {
  it('minted through one store client verify through another', async () => {
    const token = await onA.mint(carol);
    expect(token).toMatch(/^v1\.525960\.[A-Za-z0-9_-]{43}$/);
    await expect(onB.verify(carol, token)).resolves.toEqual({ ok: true });
    // Both clients minting in the same period use the one stored key.
    expect(await onB.mint(carol)).toBe(token);
  });

  it('agree on one key when both create it at the same moment', async () => {
    const [fromA, fromB] = await Promise.all([onA.mint(carol), onB.mint(carol)]);
    expect(fromA).toBe(fromB);
    await expect(onA.verify(carol, fromB)).resolves.toEqual({ ok: true });
  });

  it('accept a token for its period and the next, and refuse it two rotations later', async () => {
    const token = await onA.mint(carol);
    now = T0 + HOUR - 1;
    await expect(onB.verify(carol, token)).resolves.toEqual({ ok: true });
    // One rotation: a new key for new forms, the previous one still accepted.
    now = T0 + HOUR;
    const next = await onB.mint(carol);
    expect(next).not.toBe(token);
    await expect(onA.verify(carol, token)).resolves.toEqual({ ok: true });
    await expect(onA.verify(carol, next)).resolves.toEqual({ ok: true });
    // Two rotations: refused, on either client, saying why.
    now = T0 + 2 * HOUR;
    for (const tokens of [onA, onB]) {
      await expect(tokens.verify(carol, token)).resolves.toEqual({
        ok: false,
        expected: 'a v1 token minted for carol in key period 525961 or 525962 (3600 s each)',
        actual: 'a token of key period 525960, 2 rotations ago',
      });
    }
    await expect(onB.verify(carol, next)).resolves.toEqual({ ok: true });
  });

  it('delete keys older than the previous period when a new one is made', async () => {
    await onA.mint(carol);
    now = T0 + HOUR;
    await onA.mint(carol);
    await expect(b.getCsrfKey(525960)).resolves.toEqual(expect.any(String));
    now = T0 + 2 * HOUR;
    await onB.mint(carol);
    await expect(b.getCsrfKey(525960)).resolves.toBeUndefined();
    await expect(b.getCsrfKey(525961)).resolves.toEqual(expect.any(String));
  });

  it('are bound to the caller: another caller’s token, a forged or a malformed one is refused', async () => {
    const forCarol = await onA.mint(carol);
    const expected = 'a v1 token minted for alice in key period 525959 or 525960 (3600 s each)';
    await expect(onB.verify(alice, forCarol)).resolves.toEqual({
      ok: false,
      expected,
      actual:
        'a token of key period 525960 whose MAC does not match this caller (forged, or minted for someone else)',
    });
    const forged = `v1.525960.${'A'.repeat(43)}`;
    await expect(onB.verify(alice, forged)).resolves.toMatchObject({ ok: false });
    for (const [token, actual] of [
      [undefined, 'no csrf field'],
      ['', 'no csrf field'],
      ['v2.525960.x', 'a token that is not v1.<period>.<mac>'],
      [`v1.525960.${'A'.repeat(44)}`, 'a token that is not v1.<period>.<mac>'],
    ] as const) {
      await expect(onB.verify(alice, token)).resolves.toEqual({ ok: false, expected, actual });
    }
    // A period no key was ever made for (the previous one here) is refused as such.
    await expect(onB.verify(alice, `v1.525959.${'A'.repeat(43)}`)).resolves.toEqual({
      ok: false,
      expected,
      actual: 'a token of key period 525959, for which the store holds no key',
    });
    await expect(onB.verify(alice, `v1.525961.${'A'.repeat(43)}`)).resolves.toEqual({
      ok: false,
      expected,
      actual: 'a token of key period 525961, in the future',
    });
  });

  it('fail closed when the store cannot be read (ERR_ACCESS_STORE)', async () => {
    const down = createCsrfTokens({
      store: {
        csrfKey: () => Promise.reject(new Error('connection refused')),
        getCsrfKey: () => Promise.reject(new Error('connection refused')),
      },
      now: () => now,
      rotateMs: HOUR,
    });
    await expect(down.mint(carol)).rejects.toMatchObject({
      code: 'ERR_ACCESS_STORE',
      message: 'the CSRF key of period 525960 could not be created or read: connection refused',
    });
    await expect(down.verify(carol, `v1.525960.${'A'.repeat(43)}`)).rejects.toMatchObject({
      code: 'ERR_ACCESS_STORE',
    });
  });
});
