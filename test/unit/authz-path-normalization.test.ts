/** Path normalization before policy and routing (Istio pathNormalization modes, BASE default). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMeshSettings, resolveMesh } from '../../src/config/mesh-config.js';
import { normalizePath } from '../../src/security/path-normalization.js';

describe('path normalization', () => {
  it('BASE: dot segments, encoded unreserved characters, fragments; query untouched', () => {
    const cases: [string, string | undefined][] = [
      ['/a/b', '/a/b'],
      ['/a/./b', '/a/b'],
      ['/a/../b', '/b'],
      ['/../../b', '/b'],
      ['/a/b/..', '/a/'],
      ['/a/b/.', '/a/b/'],
      ['/a/%2e%2e/b', '/b'],
      ['/a/%2E./b', '/b'],
      ['/%61dmin', '/admin'],
      ['/a%2fb', '/a%2Fb'],
      ['/a%7e', '/a~'],
      ['/a?x=/../y', '/a?x=/../y'],
      ['/a/../b?q=%2e', '/b?q=%2e'],
      ['/admin#frag', '/admin'],
      ['//admin', '//admin'],
      ['/Admin', '/Admin'],
      ['/a;x=1/b', '/a;x=1/b'],
      ['http://host:80/a/../b?c', '/b?c'],
      ['*', '*'],
      ['relative', undefined],
      ['/bad%zz', undefined],
      ['/bad%2', undefined],
    ];
    for (const [input, want] of cases) assert.equal(normalizePath(input), want, input);
  });

  it('MERGE_SLASHES and DECODE_AND_MERGE_SLASHES', () => {
    assert.equal(normalizePath('//admin///x', 'MERGE_SLASHES'), '/admin/x');
    assert.equal(normalizePath('/a%2F%2Fadmin', 'MERGE_SLASHES'), '/a%2F%2Fadmin');
    assert.equal(normalizePath('/a%2F%2Fadmin', 'DECODE_AND_MERGE_SLASHES'), '/a/admin');
    assert.equal(normalizePath('/x/..%2Fadmin', 'DECODE_AND_MERGE_SLASHES'), '/admin');
    assert.equal(normalizePath('/a/../b', 'NONE'), '/a/../b');
  });

  it('reads the mode from MeshConfig pathNormalization.normalization (default BASE)', () => {
    assert.equal(resolveMesh(parseMeshSettings('trustDomain: cluster.local').settings).pathNormalization, undefined);
    assert.equal(resolveMesh(parseMeshSettings('pathNormalization: {normalization: MERGE_SLASHES}').settings).pathNormalization, 'MERGE_SLASHES');
    assert.equal(resolveMesh(parseMeshSettings('pathNormalization: {normalization: DEFAULT}').settings).pathNormalization, 'BASE');
    const bad = parseMeshSettings('pathNormalization: {normalization: SOMETIMES}');
    assert.equal(bad.problems[0]?.field, 'pathNormalization.normalization');
  });
});
