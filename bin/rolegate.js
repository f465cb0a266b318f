#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (`npm run build`).
// The Node version is checked first, and the CLI imported only after it:
// an import of dist/ on an older Node fails before any code of ours runs.
// main() reports every error itself (one line on stderr) and resolves to the
// exit status: 0 success, 1 failure, 2 usage error.
import { enginesNode, unsupportedNode } from './node-check.js';

const refusal = unsupportedNode(
  enginesNode(new URL('../package.json', import.meta.url)),
  process.versions.node,
  process.execPath,
);
if (refusal === undefined) {
  const { main } = await import('../dist/src/cli/main.js');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`rolegate: ERR_INTERNAL: ${message.split('\n')[0]}\n`);
      process.exitCode = 1;
    },
  );
} else {
  process.stderr.write(`${refusal}\n`);
  process.exitCode = 1;
}
