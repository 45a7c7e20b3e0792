/**
 * Differential property test of the codec's request parser against Node's own (llhttp, strict
 * mode, behind a real `http.Server` on loopback): the same seeded, mutated byte streams go to
 * both, and for the first request of each:
 *
 * - what Node refuses, the codec refuses too (at least llhttp's strictness), except requests
 *   with an extension method, which llhttp refuses and Envoy (and so the codec) forwards;
 * - what both accept, both read the same: method, target, version, header fields, body, trailers.
 *
 * What the codec refuses and Node accepts is allowed (a duplicate Host, Transfer-Encoding in
 * HTTP/1.0, a coding other than chunked...) and counted in the output for the record.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseRequests } from '../helpers/http1-parse-requests.js';
import { REQUEST_SEEDS } from '../fuzz/http1-codec-fuzz.js';
import { Mutator } from '../fuzz/mutator.js';

interface Seen {
  method: string;
  target: string;
  version: string;
  headers: string[];
  body: string;
  trailers: string[];
}

type NodeOutcome = { kind: 'accept'; seen: Seen } | { kind: 'reject'; code: string };

/** Seed and count can be changed for a longer exploratory run (the default is what CI runs). */
const CASES = Number(process.env.HTTP1_DIFF_CASES ?? 600);
const SEED = Number(process.env.HTTP1_DIFF_SEED ?? 20261207);

describe('HTTP/1.1 request parser vs Node (llhttp), differential', () => {
  let server: http.Server;
  let port = 0;
  /** Per connection: the first request's outcome. */
  const outcomes = new Map<string, (o: NodeOutcome) => void>();

  const firstRequest = new WeakMap<object, http.IncomingMessage>();
  const key = (s: net.Socket): string => `${s.remotePort ?? 0}`;
  const settle = (s: net.Socket, o: NodeOutcome): void => {
    const k = key(s);
    const f = outcomes.get(k);
    outcomes.delete(k);
    f?.(o);
  };

  before(async () => {
    // The options the waypoint's http.Server had: Envoy's 60 KiB head limit, Host required.
    server = http.createServer({ maxHeaderSize: 60 * 1024, requireHostHeader: true }, (req, res) => {
      if (!firstRequest.has(req.socket)) firstRequest.set(req.socket, req);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: string[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push((req.rawHeaders[i] as string).toLowerCase(), req.rawHeaders[i + 1] as string);
        const trailers: string[] = [];
        for (let i = 0; i < req.rawTrailers.length; i += 2) trailers.push((req.rawTrailers[i] as string).toLowerCase(), req.rawTrailers[i + 1] as string);
        settle(req.socket, {
          kind: 'accept',
          seen: { method: req.method ?? '', target: req.url ?? '', version: req.httpVersion, headers, body: Buffer.concat(chunks).toString('latin1'), trailers },
        });
        res.writeHead(200, { connection: 'close', 'content-length': '0' });
        res.end();
      });
      req.on('error', () => undefined);
    });
    server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => {
      // A later pipelined request broke: the first one, complete, stands (its 'end' settles).
      if (firstRequest.get(socket)?.complete) return;
      settle(socket, { kind: 'reject', code: err.code ?? 'unknown' });
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function viaNode(input: Buffer): Promise<NodeOutcome> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      let done = false;
      const finish = (o: NodeOutcome): void => {
        if (done) return;
        done = true;
        socket.destroy();
        resolve(o);
      };
      socket.on('error', () => finish({ kind: 'reject', code: 'closed' }));
      socket.on('close', () => finish({ kind: 'reject', code: 'closed' }));
      socket.on('data', () => undefined);
      socket.on('connect', () => {
        outcomes.set(`${socket.localPort ?? 0}`, finish);
        socket.end(input);
      });
    });
  }

  it(`${CASES} mutated requests: Node's refusals are refused, common acceptances read alike`, async () => {
    const m = new Mutator(SEED);
    const inputs: Buffer[] = [];
    for (let i = 0; i < CASES; i++) {
      const seed = Buffer.from(m.pick(REQUEST_SEEDS), 'latin1');
      inputs.push(m.chance(0.1) ? seed : m.mutate(seed));
    }
    const tally = { bothAccept: 0, bothRefuse: 0, onlyCodecRefuses: 0, extensionMethod: 0 };
    const onlyCodecReasons = new Map<string, number>();
    const problems: string[] = [];
    // A few connections at a time: bounded, and quick on a loaded machine.
    for (let i = 0; i < inputs.length; i += 8) {
      const batch = inputs.slice(i, i + 8);
      const nodeOut = await Promise.all(batch.map((b) => viaNode(b)));
      batch.forEach((input, j) => {
        const n = nodeOut[j] as NodeOutcome;
        const ours = parseRequests(m.chunks(input));
        const first = ours.requests[0];
        const codecAccepts = first !== undefined && first.complete;
        const text = JSON.stringify(input.toString('latin1')).slice(0, 300);
        if (n.kind === 'reject') {
          if (!codecAccepts) tally.bothRefuse++;
          else if (!http.METHODS.includes(first.method)) tally.extensionMethod++;
          else problems.push(`Node refused (${n.code}) what the codec accepts: ${text}`);
          return;
        }
        if (!codecAccepts) {
          tally.onlyCodecRefuses++;
          const reason = typeof ours.verdict === 'object' ? ours.verdict.reason : ours.verdict;
          onlyCodecReasons.set(reason, (onlyCodecReasons.get(reason) ?? 0) + 1);
          return;
        }
        tally.bothAccept++;
        const mine: Seen = {
          method: first.method,
          target: first.target,
          version: `1.${first.minor}`,
          headers: [...first.headers],
          body: first.body.toString('latin1'),
          trailers: [...(first.trailers ?? [])],
        };
        try {
          assert.deepEqual(mine, n.seen);
        } catch {
          problems.push(`read differently: ${text}\n codec ${JSON.stringify(mine)}\n node  ${JSON.stringify(n.seen)}`);
        }
      });
    }
    process.stdout.write(`# http1 differential ${JSON.stringify({ ...tally, onlyCodecReasons: Object.fromEntries(onlyCodecReasons) })}\n`);
    assert.deepEqual(problems.slice(0, 5), []);
    // The test has teeth only if both sides accept and refuse a fair share.
    assert.ok(tally.bothAccept > CASES / 10, `only ${tally.bothAccept} accepted by both`);
    assert.ok(tally.bothRefuse > CASES / 10, `only ${tally.bothRefuse} refused by both`);
  });
});
