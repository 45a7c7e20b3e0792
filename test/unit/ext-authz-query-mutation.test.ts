/** ext_authz `query_parameters_to_set/remove` on a request path (Envoy's OkHttpResponse). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mutateQuery } from '../../filters/ext-authz/query-mutation.js';

describe('ext_authz query mutation', () => {
  it('sets, replaces once, removes, and keeps the rest in order and encoding', () => {
    assert.equal(mutateQuery('/a', [{ key: 'k', value: 'v w' }], []), '/a?k=v%20w');
    assert.equal(mutateQuery('/a?x=%2F&k=1&k=2', [{ key: 'k', value: '3' }], []), '/a?x=%2F&k=3');
    assert.equal(mutateQuery('/a?secret=1', [], ['secret']), '/a', 'an emptied query drops the ?');
    assert.equal(mutateQuery('/a?Secret=1&secret=2', [], ['secret']), '/a?Secret=1', 'names are case-sensitive');
    assert.equal(mutateQuery('/a?s%20p=1&b', [], ['s p']), '/a?b', 'names compare decoded');
    assert.equal(mutateQuery('/a?b', [], []), '/a?b');
  });
});
