/**
 * The structured log: JSON lines by default, a readable text style, per-scope levels changeable
 * at run time; and the role flags that pick access-log format and log level.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccessLogFormat, parseLogLevel } from '../../src/commands/serve-role.js';
import { UsageError } from '../../src/commands/usage-error.js';
import { Logger } from '../../src/telemetry/logger.js';

describe('Logger', () => {
  it('writes one JSON object per line with time, level, scope, msg and fields', () => {
    const lines: string[] = [];
    const log = new Logger({ write: (l) => void lines.push(l) });
    log.log('config', 'warning', 'reload partly rejected', { errors: 2 });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    const o = JSON.parse(lines[0] as string) as Record<string, unknown>;
    assert.match(String(o['time']), /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual({ ...o, time: 'x' }, { time: 'x', level: 'warning', scope: 'config', msg: 'reload partly rejected', errors: 2 });
  });

  it('drops lines below the level, and follows a level change at run time', () => {
    const lines: string[] = [];
    const log = new Logger({ level: 'info', write: (l) => void lines.push(l) });
    log.log('http', 'debug', 'hidden');
    log.setLevel('debug');
    log.log('http', 'debug', 'shown');
    log.setScopeLevel('http', 'off');
    log.log('http', 'critical', 'silenced');
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['shown']);
    assert.deepEqual(log.activeLevels().find(([s]) => s === 'http'), ['http', 'off']);
  });

  it('has a readable text style for terminals', () => {
    const lines: string[] = [];
    new Logger({ style: 'text', write: (l) => void lines.push(l) }).log('admin', 'info', 'drain requested', { by: 'POST /drain_listeners' });
    assert.match(lines[0] as string, /^\S+\tinfo\tadmin\tdrain requested by="POST \/drain_listeners"\n$/);
  });
});

describe('role flags', () => {
  it('--access-log takes text, json or off; --quiet means off', () => {
    assert.equal(parseAccessLogFormat(undefined, false), 'text');
    assert.equal(parseAccessLogFormat('json', false), 'json');
    assert.equal(parseAccessLogFormat('json', true), 'off');
    assert.throws(() => parseAccessLogFormat('xml', false), UsageError);
  });

  it('--log-level takes Envoy\'s level names', () => {
    assert.equal(parseLogLevel(undefined), 'info');
    assert.equal(parseLogLevel('trace'), 'trace');
    assert.throws(() => parseLogLevel('verbose'), UsageError);
  });
});
