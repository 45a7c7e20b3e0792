/** Small helpers for tests that drive HBONE tunnels directly. */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import type { HboneDialResult } from '../../src/hbone/types.js';

/** The tunnel of a dial that must have succeeded; fails the test with the dial's reason otherwise. */
export function mustTunnel(r: HboneDialResult): Duplex {
  if (!r.ok) assert.fail(`dial failed: ${r.code} ${r.status ?? ''} ${r.message}`);
  return r.stream;
}

/** Sends text and waits for as many bytes back (an echo peer): proves the tunnel still carries bytes. */
export function roundTrip(s: Duplex, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        s.off('error', reject);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(text);
  });
}
