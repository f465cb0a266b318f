/**
 * jest `globalTeardown` of both projects: releases the ports the guard
 * (port-guard.ts, `globalSetup`) held for the run. Jest loads this file on
 * its own, without the moduleNameMapper, so it imports nothing: the guard
 * waits under a registered symbol in this same process.
 */

/** The key port-guard.ts stores its guard under. */
const GUARD_KEY = Symbol.for('rolegate.test.portGuard');

/** Closes the guard's sockets, if it holds any. */
export default async function teardown(): Promise<void> {
  const registry = globalThis as Record<symbol, { close(): Promise<void> } | undefined>;
  const guard = registry[GUARD_KEY];
  registry[GUARD_KEY] = undefined;
  await guard?.close();
}
