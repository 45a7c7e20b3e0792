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
      ['/a%2fb', '/a%2fb'],
      ['/a%2Fb', '/a%2Fb'],
      ['/a%5cb', '/a%5cb'],
      ['/foo\\..\\admin', '/admin'],
      ['/some\\data', '/some/data'],
      ['\\admin', undefined],
      ['/a b"<>`{|}', '/a%20b%22%3C%3E%60%7B%7C%7D'],
      ['/caf\u00e9', '/caf%E9'],
      ['/x%00', undefined],
      ['/x%00/../y', undefined],
      ['/x\u0000', undefined],
      ['/x?q=%00', '/x?q=%00'],
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

  it('each mode exactly: backslashes, %2F and %5C (Istio normalization page, Envoy order)', () => {
    const table: [string, Record<'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES', string | undefined>][] = [
      ['/foo\\..\\admin', { NONE: '/foo\\..\\admin', BASE: '/admin', MERGE_SLASHES: '/admin', DECODE_AND_MERGE_SLASHES: '/admin' }],
      ['/a\\\\b', { NONE: '/a\\\\b', BASE: '/a//b', MERGE_SLASHES: '/a/b', DECODE_AND_MERGE_SLASHES: '/a/b' }],
      ['/a%5c..%5cadmin', { NONE: '/a%5c..%5cadmin', BASE: '/a%5c..%5cadmin', MERGE_SLASHES: '/a%5c..%5cadmin', DECODE_AND_MERGE_SLASHES: '/admin' }],
      ['/a%2f..%2fadmin', { NONE: '/a%2f..%2fadmin', BASE: '/a%2f..%2fadmin', MERGE_SLASHES: '/a%2f..%2fadmin', DECODE_AND_MERGE_SLASHES: '/admin' }],
      ['/some%2fdata/%61%62%63', { NONE: '/some%2fdata/%61%62%63', BASE: '/some%2fdata/abc', MERGE_SLASHES: '/some%2fdata/abc', DECODE_AND_MERGE_SLASHES: '/some/data/abc' }],
      ['//a//b/', { NONE: '//a//b/', BASE: '//a//b/', MERGE_SLASHES: '/a/b/', DECODE_AND_MERGE_SLASHES: '/a/b/' }],
      ['/a%252e%252e/b', { NONE: '/a%252e%252e/b', BASE: '/a%252e%252e/b', MERGE_SLASHES: '/a%252e%252e/b', DECODE_AND_MERGE_SLASHES: '/a%252e%252e/b' }],
      ['/x%00', { NONE: undefined, BASE: undefined, MERGE_SLASHES: undefined, DECODE_AND_MERGE_SLASHES: undefined }],
      ['/x/%00/../y', { NONE: undefined, BASE: undefined, MERGE_SLASHES: undefined, DECODE_AND_MERGE_SLASHES: undefined }],
    ];
    for (const [input, want] of table) {
      for (const mode of ['NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const) assert.equal(normalizePath(input, mode), want[mode], `${mode} ${input}`);
    }
  });

  it('reads the mode from MeshConfig pathNormalization.normalization (default BASE)', () => {
    assert.equal(resolveMesh(parseMeshSettings('trustDomain: cluster.local').settings).pathNormalization, undefined);
    assert.equal(resolveMesh(parseMeshSettings('pathNormalization: {normalization: MERGE_SLASHES}').settings).pathNormalization, 'MERGE_SLASHES');
    assert.equal(resolveMesh(parseMeshSettings('pathNormalization: {normalization: DEFAULT}').settings).pathNormalization, 'BASE');
    const bad = parseMeshSettings('pathNormalization: {normalization: SOMETIMES}');
    assert.equal(bad.problems[0]?.field, 'pathNormalization.normalization');
  });
});
