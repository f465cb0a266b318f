import { describe, it, expect } from '@jest/globals';
import {
  matchTemplate,
  parseTemplate,
  resolveItems,
  resolveText,
  type Template,
} from '../../../src/policy/variables.js';
import { STAR } from '../../../src/policy/glob.js';
import { buildContext } from '../../../src/policy/index.js';

function tpl(text: string): Template {
  const r = parseTemplate(text);
  if (!r.ok) throw new Error(r.message);
  return r.template;
}

describe('parseTemplate', () => {
  it('splits text, variables and escapes', () => {
    const t = tpl("a/${aws:username}/${*}${jwt:x, 'd e'}");
    expect(t.parts.map((p) => p.t)).toEqual(['pat', 'var', 'pat', 'lit', 'var']);
    expect(t.vars).toEqual(['aws:username', 'jwt:x']);
    expect(t.parts[4]).toMatchObject({ key: 'jwt:x', fallback: 'd e' });
  });

  it('lower-cases keys', () => {
    expect(tpl('${AWS:UserName}').parts[0]).toMatchObject({
      key: 'aws:username',
      name: 'AWS:UserName',
    });
  });

  it.each(['${', '${}', '${a b}', '${a, b}', "${a, 'b}", '${a,}'])('rejects %j', (text) => {
    expect(parseTemplate(text).ok).toBe(false);
  });

  it('keeps a lone $ as text', () => {
    expect(tpl('a$b').parts).toEqual([{ t: 'pat', text: 'a$b', items: ['a$b'] }]);
  });
});

describe('resolution', () => {
  const ctx = buildContext({ 'aws:username': 'b*b', 'jwt:groups': ['a', 'b'], 'jwt:one': ['x'] });

  it('resolves text with values and defaults', () => {
    expect(resolveText(tpl('u/${aws:username}'), ctx)).toBe('u/b*b');
    expect(resolveText(tpl("u/${aws:userid, 'none'}"), ctx)).toBe('u/none');
    expect(resolveText(tpl('u/${aws:userid}'), ctx)).toBeUndefined();
  });

  it('treats a key with several values as absent, and one-element lists as single', () => {
    expect(resolveText(tpl('${jwt:groups}'), ctx)).toBeUndefined();
    expect(resolveText(tpl("${jwt:groups, 'd'}"), ctx)).toBe('d');
    expect(resolveText(tpl('${jwt:one}'), ctx)).toBe('x');
  });

  it('keeps written wildcards and makes substituted text literal', () => {
    expect(resolveItems(tpl('*/${aws:username}'), ctx)).toEqual([STAR, '/', 'b*b']);
    expect(matchTemplate(tpl('*/${aws:username}'), 'x/b*b', ctx)).toBe(true);
    expect(matchTemplate(tpl('*/${aws:username}'), 'x/bob', ctx)).toBe(false);
    expect(matchTemplate(tpl('${*}'), '*', ctx)).toBe(true);
    expect(matchTemplate(tpl('${*}'), 'x', ctx)).toBe(false);
    expect(matchTemplate(tpl('a/${aws:userid}'), 'a/', ctx)).toBe(false);
  });

  it('matches a range', () => {
    expect(matchTemplate(tpl('p/${aws:username}'), 'xxp/b*b', ctx, 2)).toBe(true);
  });
});
