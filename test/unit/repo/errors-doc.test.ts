/**
 * docs/errors.md cannot go stale: every catalogue code has a cause and a
 * fix (`ERROR_HELP`), sits under one family comment of `ERROR_CATALOGUE`,
 * and the committed page is exactly what `npm run errors-doc` generates.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import * as errors from '../../../src/errors.js';
import { catalogueFamilies, errorsDocMarkdown } from '../../../scripts/lib/errors-doc.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const source = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8');
const committed = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
const codes = Object.keys(errors.ERROR_CATALOGUE).sort();

describe('docs/errors.md', () => {
  it('has a cause and a fix for every catalogue code, and for nothing else', () => {
    expect(Object.keys(errors.ERROR_HELP).sort()).toEqual(codes);
    const empty = Object.entries(errors.ERROR_HELP)
      .filter(([, h]) => h.cause.trim().length < 20 || h.fix.trim().length < 10)
      .map(([code]) => code);
    expect(empty).toEqual([]);
  });

  it('places every code under exactly one family of the catalogue', () => {
    const placed = catalogueFamilies(source).flatMap((f) => f.codes);
    expect([...placed].sort()).toEqual(codes);
    expect(new Set(placed).size).toBe(placed.length);
  });

  it('has an entry, at its anchor, for every code', () => {
    const missing = codes.filter((code) => !committed.includes(`\n### ${code}\n`));
    expect(missing).toEqual([]);
    expect(errors.errorDocAnchor('ERR_ACCESS_FORBIDDEN')).toBe(
      'docs/errors.md#err_access_forbidden',
    );
  });

  it('is what the catalogue generates (run `npm run errors-doc` after changing src/errors.ts)', () => {
    expect(committed).toBe(errorsDocMarkdown(source, errors));
  });

  it('gives each code the status of HTTP_STATUS', () => {
    const entry = (code: string) =>
      committed.slice(committed.indexOf(`### ${code}\n`)).split('\n### ')[0] ?? '';
    expect(entry('ERR_NO_ROLE')).toContain('**HTTP status:** deny 403, access API 403.');
    expect(entry('ERR_TOKEN_EXPIRED')).toContain('**HTTP status:** deny 401, access API 401.');
    expect(entry('ERR_ACCESS_STORE')).toContain(
      '**HTTP status:** access API 503 (no check denies with it).',
    );
    expect(entry('ERR_INTERNAL')).toContain('**HTTP status:** deny 403, access API 500.');
    expect(entry('ERR_CONFIG_INVALID')).toContain('**HTTP status:** none');
  });
});
