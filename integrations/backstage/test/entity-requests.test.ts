/**
 * The backend plugin's `GET /entity-requests` answer, from rolegate's reach
 * and request answers and the viewer Backstage knows: which pending requests
 * an entity's page shows, and which an owner is offered to approve.
 */
import { describe, expect, it } from '@jest/globals';
import { entityRequests, reachingRoles } from '../plugins/rolegate-backend/src/entity-requests.js';

const ENTITY = 'component:default/payments-api';

const reach = (owner?: string) => ({
  entity: ENTITY,
  tags: owner === undefined ? {} : { owner, system: 'payments' },
  routes: [
    {
      route: '$.routes[0]',
      method: 'POST',
      path: '/payments/{id}',
      roles: [
        { role: 'payments-developer', reach: 'allowed' },
        { role: 'payments-admin', reach: 'conditional' },
      ],
    },
    { route: '$.routes[1]', method: 'GET', path: '/payments/{id}', roles: [{ role: 'reader' }] },
  ],
});

const request = (id: string, role: string, requester: string, status = 'pending') => ({
  id,
  role,
  requester,
  status,
  reason: 'r',
});

const pending = {
  requests: [
    request('1', 'payments-developer', 'user:default/alice'),
    request('2', 'ledger-admin', 'user:default/alice'),
    request('3', 'payments-admin', 'user:default/bob'),
    request('4', 'reader', 'user:default/alice', 'approved'),
  ],
};

const bob = {
  userEntityRef: 'user:default/bob',
  ownershipEntityRefs: ['user:default/bob', 'group:default/payments'],
};

describe('reachingRoles', () => {
  it('collects each role of every route once', () => {
    expect([...reachingRoles(reach())].sort()).toEqual([
      'payments-admin',
      'payments-developer',
      'reader',
    ]);
  });

  it('reads nothing from an answer without routes', () => {
    expect(reachingRoles({ entity: ENTITY }).size).toBe(0);
  });
});

describe('entityRequests', () => {
  it('keeps the pending requests of the reaching roles; an owner may approve others’', () => {
    const answer = entityRequests(ENTITY, reach('group:default/payments'), pending, bob);
    expect(answer).toMatchObject({ entity: ENTITY, owner: 'group:default/payments' });
    expect(answer.viewerOwns).toBe(true);
    expect(answer.requests.map((r) => [r['id'], r['approvable']])).toEqual([
      ['1', true],
      // bob's own request: rolegate would refuse his approval, so no button.
      ['3', false],
    ]);
  });

  it('reads a bare owner as Backstage does (a group in the default namespace), in any case', () => {
    expect(entityRequests(ENTITY, reach('payments'), pending, bob).viewerOwns).toBe(true);
    expect(entityRequests(ENTITY, reach('Group:Default/payments'), pending, bob).viewerOwns).toBe(
      true,
    );
  });

  it('offers nothing to approve to a viewer who does not own the entity', () => {
    const carol = {
      userEntityRef: 'user:default/carol',
      ownershipEntityRefs: ['user:default/carol', 'group:default/ledger'],
    };
    const answer = entityRequests(ENTITY, reach('group:default/payments'), pending, carol);
    expect(answer.viewerOwns).toBe(false);
    expect(answer.requests.map((r) => r['approvable'])).toEqual([false, false]);
  });

  it('offers nothing when the catalog gave the entity no owner', () => {
    const answer = entityRequests(ENTITY, reach(), pending, bob);
    expect(answer).not.toHaveProperty('owner');
    expect(answer.viewerOwns).toBe(false);
    expect(answer.requests.every((r) => r['approvable'] === false)).toBe(true);
  });

  it('reads no request from an answer without a list', () => {
    expect(entityRequests(ENTITY, reach('payments'), {}, bob).requests).toEqual([]);
  });
});
