import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tsMls from 'ts-mls';
import { decodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { describe, expect, it } from 'vitest';

// IETF MLS test vectors (mlswg/mls-implementations, as vendored by ts-mls, MIT) run against the installed ts-mls, not
// its sources: the passive-client scenarios of Parley's suite 1. They prove the package interoperates; they do not
// catch every defect (1.6.2 passes them with the removal bug, see removal.test.ts).

const here = path.dirname(fileURLToPath(import.meta.url));
const vectorDir = path.join(here, '../../test-vectors/mls');

interface PassiveClientVector {
  cipher_suite: number;
  external_psks: { psk_id: string; psk: string }[];
  key_package: string;
  signature_priv: string;
  encryption_priv: string;
  init_priv: string;
  welcome: string;
  ratchet_tree: string | null;
  initial_epoch_authenticator: string;
  epochs: { proposals: string[]; commit: string; epoch_authenticator: string }[];
}

function load(name: string): PassiveClientVector[] {
  return JSON.parse(readFileSync(path.join(vectorDir, `${name}.json`), 'utf8')) as PassiveClientVector[];
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function decode(s: string): tsMls.MLSMessage {
  const decoded = tsMls.decodeMlsMessage(hex(s), 0);
  if (decoded === undefined) throw new Error('Could not decode an MLS message of the vector');
  return decoded[0];
}

async function runPassiveClient(v: PassiveClientVector): Promise<void> {
  const cs = await tsMls.getCiphersuiteImpl(tsMls.getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
  const kp = decode(v.key_package);
  const welcome = decode(v.welcome);
  if (kp.wireformat !== 'mls_key_package' || welcome.wireformat !== 'mls_welcome') throw new Error('Unexpected wire formats in the vector');
  const psks = Object.fromEntries(v.external_psks.map((p) => [tsMls.bytesToBase64(hex(p.psk_id)), hex(p.psk)]));
  const tree = v.ratchet_tree !== null ? decodeRatchetTree(hex(v.ratchet_tree), 0)?.[0] : undefined;
  let state = await tsMls.joinGroup(
    welcome.welcome,
    kp.keyPackage,
    { hpkePrivateKey: hex(v.encryption_priv), initPrivateKey: hex(v.init_priv), signaturePrivateKey: hex(v.signature_priv) },
    tsMls.makePskIndex(undefined, psks),
    cs,
    tree,
  );
  expect(state.keySchedule.epochAuthenticator).toEqual(hex(v.initial_epoch_authenticator));
  for (const epoch of v.epochs) {
    for (const m of [...epoch.proposals, epoch.commit].map(decode)) {
      if (m.wireformat === 'mls_private_message') {
        state = (await tsMls.processPrivateMessage(state, m.privateMessage, tsMls.makePskIndex(state, psks), cs)).newState;
      } else if (m.wireformat === 'mls_public_message') {
        state = (await tsMls.processPublicMessage(state, m.publicMessage, tsMls.makePskIndex(state, psks), cs)).newState;
      } else {
        throw new Error(`Unexpected ${m.wireformat} in an epoch of the vector`);
      }
    }
    expect(state.keySchedule.epochAuthenticator).toEqual(hex(epoch.epoch_authenticator));
  }
}

describe('IETF MLS test vectors, suite 1, against the installed ts-mls', () => {
  it('runs the pinned ts-mls version, exactly 1.6.4', () => {
    // The entry point is <package>/dist/src/index.js.
    const root = path.resolve(createRequire(import.meta.url).resolve('ts-mls'), '../../..');
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
    expect(pkg).toMatchObject({ name: 'ts-mls', version: '1.6.4' });
  });

  const suites = ['passive-client-welcome', 'passive-client-handling-commit', 'passive-client-random'];
  for (const name of suites) {
    const vectors = load(name);
    it(`has the suite-1 vectors of ${name}`, () => {
      expect(vectors.length).toBeGreaterThan(0);
      expect(vectors.every((v) => v.cipher_suite === 1)).toBe(true);
    });
    vectors.forEach((v, i) => {
      it(`${name} #${i}`, { timeout: 60_000 }, () => runPassiveClient(v));
    });
  }
});
