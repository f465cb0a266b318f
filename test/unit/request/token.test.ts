import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { CallerToken, revealToken } from '../../../src/request/token.js';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));
const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJUT0tFTi1DQU5BUlkifQ.c2ln';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('CallerToken', () => {
  it('never shows the token when printed, serialised or interpolated', () => {
    const handle = CallerToken.of(TOKEN);
    const shown = [
      JSON.stringify({ token: handle, nested: [handle] }),
      inspect({ token: handle }, { depth: 5, showHidden: true }),
      `${handle}`,
      String(handle),
      Object.keys(handle).join(','),
    ].join('\n');
    expect(shown).not.toContain(TOKEN);
    expect(shown).not.toContain('TOKEN-CANARY');
    expect(JSON.stringify(handle)).toBe('"[token]"');
    expect(revealToken(handle)).toBe(TOKEN);
  });

  it('refuses to reveal anything that is not a handle it made', () => {
    expect(() => revealToken({} as CallerToken)).toThrow(TypeError);
  });

  it('is revealed only by the identity and STS phases (src/check/check.ts)', () => {
    const callers = sources(SRC)
      .filter((f) => !f.endsWith(join('request', 'token.ts')))
      .filter((f) => readFileSync(f, 'utf8').includes('revealToken('))
      .map((f) => relative(SRC, f).split('\\').join('/'));
    expect(callers).toEqual(['check/check.ts']);
  });
});
