/**
 * RFC 9113 / RFC 7541 conformance of the waypoint's own HTTP/2 server codec (src/http2/), judged
 * by h2spec (github.com/summerwind/h2spec) run against it on a loopback port. The binary is not
 * part of the project: set `H2SPEC_BIN` to one (e.g. built with `go install
 * github.com/summerwind/h2spec/cmd/h2spec@latest`); without it the test skips and says why.
 *
 * Every h2spec case must pass except those listed in {@link KNOWN}, each with its reason.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCodecServer, type CodecServer } from '../helpers/h2-codec-server.js';

const BIN = process.env['H2SPEC_BIN'];

/** h2spec cases (their ids, e.g. `http2/6.9.1/2`) this codec is known to fail, with the reason. */
const KNOWN: ReadonlyMap<string, string> = new Map();

function skipReason(): string | undefined {
  if (!BIN) return 'set H2SPEC_BIN to an h2spec binary to run the conformance suite';
  if (!fs.existsSync(BIN)) return `H2SPEC_BIN=${BIN} does not exist`;
  return undefined;
}

/** Failed case ids from h2spec's JUnit report. */
function failures(xml: string): string[] {
  const out: string[] = [];
  const re = /<testcase[^>]*?package="([^"]*)"[^>]*?classname="([^"]*)"[^>]*?>([\s\S]*?)<\/testcase>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) if ((m[3] as string).includes('<failure') || (m[3] as string).includes('<error')) out.push(`${m[1] ?? ''} ${m[2] ?? ''}`);
  return out;
}

const skip = skipReason();

describe('h2spec against the own HTTP/2 server codec (H2SPEC_BIN)', { skip: skip ?? false }, () => {
  let server: CodecServer;
  let port = 0;

  before(async () => {
    server = await startCodecServer({}, 'hello from the codec\n');
    port = server.port;
  });

  after(() => server.close());

  it('passes every case but the known ones', { timeout: 120_000 }, async () => {
    const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'h2spec-')), 'report.xml');
    const out = await new Promise<string>((resolve) => {
      execFile(BIN as string, ['-h', '127.0.0.1', '-p', String(port), '-o', '2', '-j', report], { timeout: 110_000 }, (_err, stdout) => resolve(stdout));
    });
    const summary = /(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed/.exec(out);
    assert.ok(summary, `h2spec printed no summary:\n${out.slice(-2000)}`);
    const xml = fs.readFileSync(report, 'utf8');
    // h2spec 2.2.1 runs 145 cases (146 with -S): a report with far fewer ran something else.
    assert.ok((xml.match(/<testcase /g) ?? []).length >= 140, `too few cases in the report:\n${summary[0]}`);
    const failed = failures(xml).filter((id) => !KNOWN.has(id));
    assert.deepEqual(failed, [], `${summary[0]}\n${out.slice(-4000)}`);
  });
});
