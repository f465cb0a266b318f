#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (`npm run build`).
// main() reports every error itself (one line on stderr) and resolves to the
// exit status: 0 success, 1 failure, 2 usage error.
import { main } from '../dist/src/cli/main.js';

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
