/**
 * A real headless Chromium (Debian's `chromium` package) driven by
 * playwright-core, as the browser peer for web-page tests. Flags keep it off
 * the network (no background services, no component updates, no sync), and
 * each start gets a fresh profile (playwright launches with a new temporary
 * user data dir and removes it on close). A missing binary is an error, in CI and
 * outside it: never a skip.
 */
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';
import { findBinary } from './binary.js';

/** The flags every launch uses. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's chromium: `ROLEGATE_CHROMIUM_BIN`, else `chromium` on PATH, else /usr/bin/chromium. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  return findBinary(
    {
      peer: 'Chromium test bed',
      name: 'chromium',
      envVar: 'ROLEGATE_CHROMIUM_BIN',
      fallbacks: ['/usr/bin/chromium'],
      howToFix:
        "Install Debian's Chromium (`apt-get install -y chromium`; .ci/run does it) or point ROLEGATE_CHROMIUM_BIN at a chromium binary.",
    },
    env,
  );
}

/** One browser with a fresh profile; `context()` opens isolated sessions in it. */
export class ChromiumPeer {
  #context: BrowserContext[] = [];
  #browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;

  async start(): Promise<void> {
    const executablePath = findChromium();
    this.#browser = await chromium.launch({
      executablePath,
      args: CHROMIUM_FLAGS,
      timeout: 30_000,
    });
  }

  /** A new isolated browsing session. */
  async context(options: BrowserContextOptions = {}): Promise<BrowserContext> {
    if (!this.#browser) throw new Error('ChromiumPeer: start() first');
    const ctx = await this.#browser.newContext(options);
    this.#context.push(ctx);
    return ctx;
  }

  async stop(): Promise<void> {
    for (const c of this.#context) await c.close().catch(() => undefined);
    this.#context = [];
    await this.#browser?.close().catch(() => undefined);
    this.#browser = undefined;
  }
}
