import { describe, expect, it } from '@jest/globals';
import {
  compileRoute,
  defaultRoute,
  matchRoute,
  routeTemplateProblems,
} from '../../../src/route/table.js';
import { RolegateError } from '../../../src/errors.js';
import type { RouteConfig } from '../../../src/route/options.js';

const route = (method: string, path: string, action: string, resource: string): RouteConfig => ({
  method,
  path,
  action,
  resource,
  tags: {},
  jsonPath: '$',
});

const routes = [
  route('GET', '/orders', 'orders:ListOrders', 'arn:rolegate:orders:::order/*'),
  route('GET', '/orders/{id}', 'orders:GetOrder', 'arn:rolegate:orders:::order/{id}'),
  route('*', '/files/{key+}', 'files:Access', 'arn:rolegate:files:::{key}'),
].map(compileRoute);

describe('matchRoute', () => {
  it.each([
    ['GET', '/orders', 'orders:ListOrders', 'arn:rolegate:orders:::order/*'],
    ['GET', '/orders/', 'orders:ListOrders', 'arn:rolegate:orders:::order/*'],
    ['GET', '/orders/42', 'orders:GetOrder', 'arn:rolegate:orders:::order/42'],
    ['PUT', '/files/a/b/c.txt', 'files:Access', 'arn:rolegate:files:::a/b/c.txt'],
  ])('%s %s -> %s on %s', (method, path, action, resource) => {
    expect(matchRoute(routes, method, path)).toMatchObject({ action, resource });
  });

  it('does not let a segment parameter cross a slash', () => {
    expect(matchRoute(routes, 'GET', '/orders/42/items')).toBeUndefined();
  });

  it('matches the method exactly unless the route says *', () => {
    expect(matchRoute(routes, 'POST', '/orders')).toBeUndefined();
  });

  it('treats regular-expression characters in templates literally', () => {
    const [r] = [route('GET', '/a.b/(x)', 'svc:A', 'arn:x:svc:::a')].map(compileRoute);
    expect(matchRoute([r!], 'GET', '/a.b/(x)')).toBeDefined();
    expect(matchRoute([r!], 'GET', '/aXb/(x)')).toBeUndefined();
  });
});

describe('routeTemplateProblems', () => {
  it('accepts templates that name only path parameters, {x+} included', () => {
    expect(
      routeTemplateProblems({
        path: '/w/{warehouse}/items/{id}/{rest+}',
        action: 'items:GetItem',
        resource: 'arn:rolegate:items:::{warehouse}/{id}/{rest}',
      }),
    ).toEqual([]);
  });

  it.each([
    [
      '/items/{id}',
      'items:GetItem',
      'arn:rolegate:items:::{warehouse}/{id}',
      'resource',
      '{warehouse}',
    ],
    ['/items', 'items:ListItems', 'arn:rolegate:items:::item/{id}', 'resource', '{id}'],
    ['/items/{id}', 'items:{op}', 'arn:rolegate:items:::item/{id}', 'action', '{op}'],
  ])('path %s: %s / %s -> %s names %s', (path, action, resource, field, name) => {
    const problems = routeTemplateProblems({ path, action, resource });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.field).toBe(field);
    expect(problems[0]?.message).toContain(name);
    expect(problems[0]?.message).toContain(path);
  });

  it('compileRoute refuses such a route with ERR_CONFIG_INVALID and its JSON path', () => {
    const bad = {
      ...route('GET', '/items/{id}', 'items:GetItem', 'arn:rolegate:items:::{warehouse}/{id}'),
      jsonPath: '$.routes[2]',
    };
    let thrown: unknown;
    try {
      compileRoute(bad, 2);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RolegateError);
    expect((thrown as RolegateError).code).toBe('ERR_CONFIG_INVALID');
    expect((thrown as RolegateError).message).toContain('$.routes[2].resource');
  });
});

describe('defaultRoute', () => {
  it('maps to http:<Method> on a host-and-path ARN', () => {
    expect(defaultRoute('DELETE', 'api.example.com', '/x/y')).toEqual({
      action: 'http:Delete',
      resource: 'arn:rolegate:http:::api.example.com/x/y',
      source: 'default',
      tags: {},
    });
  });
});
