import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseCidr, parseIp } from '../../src/net/cidr.js';

function must(text: string): NonNullable<ReturnType<typeof parseCidr>> {
  const c = parseCidr(text);
  assert.ok(c, `expected ${text} to parse`);
  return c;
}

test('parses IPv4 CIDRs and masks host bits', () => {
  const c = must('127.1.2.3/8');
  assert.equal(c.family, 4);
  assert.equal(c.prefixLength, 8);
  assert.deepEqual([...c.network], [127, 0, 0, 0]);
  assert.equal(c.text, '127.1.2.3/8');
});

test('a bare address is a host route', () => {
  assert.equal(must('127.1.2.3').prefixLength, 32);
  assert.equal(must('::1').prefixLength, 128);
  assert.equal(must('::1').family, 6);
});

test('rejects malformed input', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/-1', '1.2.3.4/a', '256.1.1.1', '::1/129', 'fe80::1%eth0', 'host/8', '1.2.3.4/8/9', '01.2.3.4']) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

test('IPv4 containment at byte and bit boundaries', () => {
  const c = must('127.1.0.0/16');
  assert.ok(cidrContains(c, '127.1.200.3'));
  assert.ok(!cidrContains(c, '127.2.0.1'));
  const odd = must('127.168.4.0/22');
  assert.ok(cidrContains(odd, '127.168.7.255'));
  assert.ok(!cidrContains(odd, '127.168.8.0'));
  assert.ok(!cidrContains(odd, '127.168.3.255'));
  const all = must('0.0.0.0/0');
  assert.ok(cidrContains(all, '127.255.255.254'));
  assert.ok(!cidrContains(all, '::1'), 'families never mix');
  assert.ok(!cidrContains(all, 'not-an-ip'));
});

test('IPv6 containment incl. :: forms and embedded IPv4', () => {
  const c = must('2001:db8::/32');
  assert.ok(cidrContains(c, '2001:db8:ffff::1'));
  assert.ok(!cidrContains(c, '2001:db9::1'));
  assert.deepEqual([...(parseIp('::ffff:1.2.3.4') ?? [])], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual([...(parseIp('1::')?.slice(0, 2) ?? [])], [0, 1]);
  const h = must('fd00::1:2/127');
  assert.ok(cidrContains(h, 'fd00::1:3'));
  assert.ok(!cidrContains(h, 'fd00::1:4'));
});

test('an IPv4-mapped IPv6 peer matches an IPv4 CIDR', () => {
  assert.ok(cidrContains(must('127.0.0.0/8'), '::ffff:127.0.0.9'));
  assert.ok(!cidrContains(must('127.1.0.0/16'), '::ffff:127.2.0.9'));
});
