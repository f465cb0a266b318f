/**
 * The jest environment of the card tests: jest's Node environment with a
 * jsdom document (jsdom 26, a devDependency) on its
 * globals, which a test selects with
 * `@jest-environment ./integrations/backstage/test/support/dom-environment.js`.
 *
 * Why not `jest-environment-jsdom` itself: a card test runs, in the same
 * process, the real peers the card talks to (Backstage's backend with its
 * auth plugin, which signs with `jose`; express; `pg`), and those need
 * Node's globals (`TextEncoder`, `setImmediate`, `fetch`, Node's
 * `Uint8Array`), which the jsdom environment replaces or hides. Here every
 * global Node has stays Node's, and what only a browser has (`window`,
 * `document`, `HTMLElement`, `getComputedStyle`...) is jsdom's, as a
 * browser page with a Node beside it would be.
 */
/* global console */
import { TestEnvironment as NodeEnvironment } from 'jest-environment-node';
import { JSDOM, VirtualConsole } from 'jsdom';

/**
 * jsdom's console, minus its complaints about the modern CSS that
 * Backstage's UI library injects (jsdom's CSS parser predates it; nothing
 * the tests look at depends on it).
 */
function quietConsole() {
  const virtualConsole = new VirtualConsole();
  virtualConsole.sendTo(console, { omitJSDOMErrors: true });
  virtualConsole.on('jsdomError', (error) => {
    if (!String(error.message).startsWith('Could not parse CSS stylesheet')) console.error(error);
  });
  return virtualConsole;
}

/** The names a browser script sees as globals: the window's own and its prototypes' (EventTarget's...). */
function windowKeys(window) {
  const keys = new Set();
  for (let o = window; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) if (key !== 'constructor') keys.add(key);
  }
  return keys;
}

class NodeWithDomEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    this.dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', {
      url: 'http://localhost/',
      pretendToBeVisual: true,
      virtualConsole: quietConsole(),
    });
    const window = this.dom.window;
    const global = this.global;
    for (const key of windowKeys(window)) {
      // Node's own globals win: the peers in the test need them as they are.
      if (key.startsWith('_') || key in global) continue;
      Object.defineProperty(global, key, {
        configurable: true,
        enumerable: false,
        get: () => {
          const value = window[key];
          // A bare `addEventListener(...)` in browser code means the window's.
          return typeof value === 'function' && !/^[A-Z]/.test(key) ? value.bind(window) : value;
        },
        set: (value) => {
          window[key] = value;
        },
      });
    }
    // Node 21+ has a navigator of its own; browser code expects the window's.
    Object.defineProperty(global, 'navigator', {
      configurable: true,
      get: () => window.navigator,
    });
  }

  async teardown() {
    this.dom.window.close();
    await super.teardown();
  }
}

export default NodeWithDomEnvironment;
