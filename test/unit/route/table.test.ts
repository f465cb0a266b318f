import { describe, expect, it } from '@jest/globals';
import { compileRoute, defaultRoute, matchRoute } from '../../../src/route/table.js';
import type { RouteConfig } from '../../../src/config/schema.js';

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
