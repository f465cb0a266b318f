/* global process, URL */
// Child process for the crash test: approves every pending request of the
// sqlite store at argv[2], one transaction each, as fast as it can, printing
// "ready" first and one line per approval. The parent kills it with SIGKILL.
// Runs rolegate's TypeScript source directly (Node's type stripping; `.js`
// import specifiers resolved to the `.ts` files beside them).
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL) {
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
    }
    return next(specifier, context);
  },
});

const { openSqliteStore } = await import('../../src/access/sqlite-store.ts');
const store = openSqliteStore(process.argv[2]);
const pending = await store.listRequests({ status: 'pending' });
process.stdout.write('ready\n');
let n = 0;
for (const r of pending) {
  await store.approve(r.id, 'carol', 'crash test', 1, Date.now());
  process.stdout.write(`${++n}\n`);
}
process.stdout.write('done\n');
