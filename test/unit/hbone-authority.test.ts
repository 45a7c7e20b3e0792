import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAuthority, parseAuthority } from '../../src/hbone/authority.js';

describe('HBONE :authority', () => {
  it('parses ip:port, [v6]:port and host:port', () => {
    assert.deepEqual(parseAuthority('127.1.3.9:9080'), { host: '127.1.3.9', port: 9080, isIp: true, text: '127.1.3.9:9080' });
    assert.deepEqual(parseAuthority('[fd00::1]:443'), { host: 'fd00::1', port: 443, isIp: true, text: '[fd00::1]:443' });
    assert.deepEqual(parseAuthority('[::ffff:127.0.0.1]:1'), { host: '::ffff:127.0.0.1', port: 1, isIp: true, text: '[::ffff:127.0.0.1]:1' });
    assert.deepEqual(parseAuthority('reviews.default.svc.cluster.local:9080'), {
      host: 'reviews.default.svc.cluster.local',
      port: 9080,
      isIp: false,
      text: 'reviews.default.svc.cluster.local:9080',
    });
    assert.equal(parseAuthority('a:65535')?.port, 65535);
    assert.equal(parseAuthority('a-b.c1:1')?.host, 'a-b.c1');
    assert.equal(parseAuthority('Example.COM:80')?.host, 'Example.COM');
  });

  it('rejects everything else', () => {
    for (const bad of [
      undefined,
      '',
      'host',
      ':80',
      'host:',
      'host:0',
      'host:65536',
      'host:+80',
      'host:8 0',
      'host:80a',
      'host:123456',
      'fd00::1:80',
      '[fd00::1]',
      '[fd00::1]80',
      '[fe80::1%eth0]:80',
      '[127.0.0.1]:80',
      '[nothex]:80',
      '127.0.0.256:80',
      '0127.0.0.1:80',
      '1.2.3:80',
      'a..b:80',
      '.a:80',
      'a.:80',
      '-a:80',
      'a-:80',
      'a_b:80',
      'a b:80',
      'a/b:80',
      'user@host:80',
      `${'a'.repeat(64)}:80`,
      `${'a.'.repeat(130)}a:80`,
    ]) {
      assert.equal(parseAuthority(bad), undefined, String(bad));
    }
  });

  it('formats with brackets for IPv6 only, and round-trips', () => {
    assert.equal(formatAuthority('127.1.0.5', 15008), '127.1.0.5:15008');
    assert.equal(formatAuthority('fd00::5', 80), '[fd00::5]:80');
    assert.equal(formatAuthority('svc.ns', 80), 'svc.ns:80');
    for (const t of ['127.0.0.1:1', '[::1]:2', 'x.y:3']) {
      const a = parseAuthority(t);
      assert.ok(a);
      assert.equal(formatAuthority(a.host, a.port), t);
    }
  });
});
