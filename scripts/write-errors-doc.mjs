// `npm run errors-doc` (after `npm run build`): writes docs/errors.md from the
// error catalogue (src/errors.ts: its codes, statuses, causes and fixes,
// grouped by its comments). A unit test (test/unit/repo/errors-doc.test.ts)
// fails when the committed page differs.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import * as errors from '../dist/src/errors.js';
import { errorsDocMarkdown } from './lib/errors-doc.mjs';

const source = readFileSync(new URL('../src/errors.ts', import.meta.url), 'utf8');
const target = fileURLToPath(new URL('../docs/errors.md', import.meta.url));
writeFileSync(target, errorsDocMarkdown(source, errors));
process.stdout.write(`wrote ${target}\n`);
