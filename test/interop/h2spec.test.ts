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
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeTcpServer, createTcpServer, listenTcp } from '../../src/net/sockets.js';
import { H2CodecDownstream } from '../../src/waypoint/h2-codec-downstream.js';
import type { HttpConnection, HttpConnectionSource } from '../../src/waypoint/http-connection.js';
import { httpLimits } from '../../src/waypoint/http-limits.js';

const BIN = process.env['H2SPEC_BIN'];
const CONN: HttpConnectionSource = { current: () => ({}) as HttpConnection };

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
  let h2: H2CodecDownstream;
  let server: net.Server;
  let port = 0;

  before(async () => {
    h2 = new H2CodecDownstream(httpLimits({}), (_c, x) => {
      x.attach({ downstreamDrain: () => undefined, downstreamClosed: () => undefined, downstreamIdle: () => undefined });
      const go = (): void => void x.respond(200, ['content-type', 'text/plain'], 'hello from the codec\n');
      if (x.body) {
        x.body.on('error', () => undefined);
        x.body.resume();
        x.body.on('end', go);
      } else go();
    });
    server = createTcpServer((socket) => h2.serve(socket, CONN));
    port = (await listenTcp(server, '127.0.0.1', 0)).port;
  });

  after(async () => {
    h2.destroyAll();
    await closeTcpServer(server, 200);
  });

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
