import { DEVICE_LINK_TTL_MS } from '@parley/protocol/constants';
import { ParleyError } from '../errors.ts';
import type { ParleyClient } from '../http-client.ts';
import { fromBase64, toBase64 } from './base64.ts';
import { bytesEqual } from './codec.ts';
import type { Directory } from './directory.ts';
import type { E2eeDevice } from './engine.ts';
import { E2eeError } from './errors.ts';
import { decodeDeviceCert, importAik, verifyDeviceCert, type Aik } from './identity.ts';
import {
  decodeLinkMessage,
  encodeLinkMessage,
  encodeLinkPayload,
  newLinkSecret,
  openLinkEnvelope,
  sasCode,
  sealSasSecret,
  type LinkEnvelope,
  type LinkMessage,
  type LinkTarget,
} from './link.ts';
import type { SuiteHpke } from './mls.ts';

const codeOf = (err: unknown): string | undefined => (err instanceof ParleyError ? err.code : undefined);

// The new device's side of a link, and the approver's side of a comparison (E2eeDevice.startLink, startSas).

export const LINK_POLL_MS = 1000;
const LINK_TIMEOUT_MS = DEVICE_LINK_TTL_MS;

type LinkMessageOf<K extends LinkMessage['kind']> = Extract<LinkMessage, { kind: K }>;

/** A mailbox message as read, with who the server says sent it. */
export type ReceivedLink = LinkMessage & { senderDeviceId: string };

/**
 * Waits for the next mailbox message of one kind (from one device, or any), polling. What is read of other kinds
 * waits in `inbox` for its own reader (the new device may wait for an envelope and a comparison at once); what does
 * not decode is dropped: the server can relay anything.
 */
export async function receiveLink<K extends LinkMessage['kind']>(
  client: ParleyClient,
  options: { kind: K; from?: string; timeoutMs?: number; pollMs?: number; inbox?: ReceivedLink[] },
): Promise<LinkMessageOf<K> & { senderDeviceId: string }> {
  const inbox = options.inbox ?? [];
  const deadline = Date.now() + (options.timeoutMs ?? LINK_TIMEOUT_MS);
  for (;;) {
    const { messages } = await client.getDeviceLink(options.from ? { from: options.from } : {}).catch((err: unknown) => {
      if (codeOf(err) === 'rate_limited') return { messages: [] };
      throw err;
    });
    for (const m of messages) {
      try {
        inbox.push({ ...decodeLinkMessage(fromBase64(m.data)), senderDeviceId: m.senderDeviceId });
      } catch {
        // Not a link message: nothing to wait for.
      }
    }
    const index = inbox.findIndex((m) => m.kind === options.kind && (!options.from || m.senderDeviceId === options.from));
    if (index >= 0) return inbox.splice(index, 1)[0] as LinkMessageOf<K> & { senderDeviceId: string };
    if (Date.now() >= deadline) throw new E2eeError('e2ee_link_failed', 'The other device did not answer in time');
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? LINK_POLL_MS));
  }
}

/** A comparison the approving device started: the code to show, and what `confirmSas` needs. */
export class SasSession {
  constructor(
    /** Six digits as "123 456": the user compares it with the new device's screen. */
    readonly code: string,
    readonly transcript: { target: LinkTarget; approverDeviceId: string; approverKey: Uint8Array; aikPublicKey: Uint8Array },
    readonly approverPrivateKey: Uint8Array,
  ) {}

  get deviceId(): string {
    return this.transcript.target.deviceId;
  }
}

/** A new device waiting to be linked (E2eeDevice.startLink). */
export class PendingLink {
  /** The QR payload to show: another device of the account approves with `approveLink(payload)`. */
  readonly payload: string;
  private readonly qrSecret = newLinkSecret();
  private comparison: { approverDeviceId: string; approverKey: Uint8Array; aikPublicKey: Uint8Array } | undefined;
  private sasSecret: Uint8Array | undefined;
  private readonly inbox: ReceivedLink[] = [];

  constructor(
    private readonly o: {
      client: ParleyClient;
      hpke: SuiteHpke;
      directory: Directory;
      target: LinkTarget;
      linkPrivateKey: Uint8Array;
      finish: (aik: Aik, cert: Uint8Array) => Promise<E2eeDevice>;
      pollMs: number;
    },
  ) {
    this.payload = encodeLinkPayload({ ...o.target, secret: this.qrSecret });
  }

  get deviceId(): string {
    return this.o.target.deviceId;
  }

  /**
   * The comparison path: waits for an active device to start one (`startSas`), reveals this device's link key to it
   * and returns the code to show. When the user says it matches the other screen, `confirmSas()`.
   */
  async sas(options: { timeoutMs?: number } = {}): Promise<string> {
    const start = await receiveLink(this.o.client, { kind: 'sas_start', timeoutMs: options.timeoutMs, pollMs: this.o.pollMs, inbox: this.inbox });
    const aikPublicKey = await this.o.directory.requireAik(this.o.target.userId);
    await this.o.client.postDeviceLink({
      deviceId: start.senderDeviceId,
      data: toBase64(encodeLinkMessage({ kind: 'sas_reveal', linkPublicKey: this.o.target.linkPublicKey })),
    });
    this.comparison = { approverDeviceId: start.senderDeviceId, approverKey: start.approverKey, aikPublicKey };
    return sasCode({ target: this.o.target, ...this.comparison });
  }

  /** The user saw the same code on both screens: lets the approving device's envelope in (and only its). */
  async confirmSas(): Promise<void> {
    if (!this.comparison) throw new E2eeError('e2ee_link_failed', 'No comparison has been started');
    const secret = newLinkSecret();
    const sealed = await sealSasSecret(this.o.hpke, { target: this.o.target, ...this.comparison, secret });
    this.sasSecret = secret;
    await this.o.client.postDeviceLink({ deviceId: this.comparison.approverDeviceId, data: toBase64(encodeLinkMessage({ kind: 'sas_secret', sealed })) });
  }

  /**
   * Waits for the approver's envelope, opens it (only one made with this link's QR secret, or the secret of a
   * confirmed comparison, opens), checks the identity key is the account's and the certificate is this device's,
   * waits for the server to list this device active, and returns it with its KeyPackages uploaded.
   */
  async waitForApproval(options: { timeoutMs?: number } = {}): Promise<E2eeDevice> {
    const { client, target } = this.o;
    const timeoutMs = options.timeoutMs ?? LINK_TIMEOUT_MS;
    const message = await receiveLink(client, { kind: 'envelope', timeoutMs, pollMs: this.o.pollMs, inbox: this.inbox });
    let envelope: LinkEnvelope | undefined;
    for (const secret of [this.qrSecret, this.sasSecret]) {
      if (!secret) continue;
      envelope = await openLinkEnvelope(this.o.hpke, { target, secret, linkPrivateKey: this.o.linkPrivateKey, sealed: message.sealed }).catch(() => undefined);
      if (envelope) break;
    }
    if (!envelope) throw new E2eeError('e2ee_link_failed', 'The link envelope does not open: it was not made by a device this one was shown to');
    const aik = await importAik(envelope.aikPkcs8);
    envelope.aikPkcs8.fill(0);
    const published = await this.o.directory.requireAik(target.userId);
    if (!bytesEqual(aik.publicKey, published)) throw new E2eeError('e2ee_link_failed', 'The identity key handed over is not the one the account publishes');
    const cert = decodeDeviceCert(envelope.cert);
    if (cert.userId !== target.userId || cert.deviceId !== target.deviceId || !(await verifyDeviceCert(cert, aik.publicKey, target.signatureKey))) {
      throw new E2eeError('e2ee_link_failed', 'The certificate handed over is not for this device');
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { devices } = await client.listDevices({ userId: target.userId });
      const me = devices.find((d) => d.id === target.deviceId);
      if (me?.status === 'active' && me.cert && bytesEqual(fromBase64(me.cert), envelope.cert)) break;
      if (Date.now() >= deadline) throw new E2eeError('e2ee_device_pending', 'This device has not been approved yet');
      await new Promise((resolve) => setTimeout(resolve, this.o.pollMs));
    }
    return this.o.finish(aik, envelope.cert);
  }
}
