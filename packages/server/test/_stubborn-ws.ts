import crypto from 'node:crypto';
import net from 'node:net';
import { WS_PATH, WS_PROTOCOL } from '@parley/sdk';

/**
 * A WebSocket client on a bare TCP socket that ignores the server's close frame and keeps sending,
 * as a hostile client would: what the server still does with its frames is what it would do for one.
 */
export interface StubbornSocket {
  /** every text frame received, parsed */
  frames: any[];
  /** the code of the server's close frame, once it came */
  closeCode: number | null;
  /** when the server cut the TCP connection, or null while it is up */
  tcpClosedAt: number | null;
  /** Sends a text frame, masked as a client must; nothing happens once the connection is gone. */
  send(frame: object): void;
  destroy(): void;
}

/** Opens a socket with the access token in the Authorization header; resolves after the hello frame. */
export function stubbornSocket(baseUrl: string, accessToken: string): Promise<StubbornSocket> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(url.port), url.hostname);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const client: StubbornSocket = {
      frames: [],
      closeCode: null,
      tcpClosedAt: null,
      send(frame) {
        if (client.tcpClosedAt !== null || sock.destroyed) return;
        const data = Buffer.from(JSON.stringify(frame));
        if (data.length >= 65_536) throw new Error('Frames of this helper stay under 64 KiB');
        const header = data.length < 126 ? Buffer.from([0x81, 0x80 | data.length]) : Buffer.from([0x81, 0x80 | 126, data.length >> 8, data.length & 0xff]);
        const mask = crypto.randomBytes(4);
        const out = Buffer.alloc(data.length);
        for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ mask[i & 3]!;
        sock.write(Buffer.concat([header, mask, out]));
      },
      destroy: () => sock.destroy(),
    };
    const timer = setTimeout(() => reject(new Error('No hello within 5 s')), 5000);
    sock.on('error', (err) => {
      if (!upgraded) reject(err);
    });
    sock.on('close', () => (client.tcpClosedAt = Date.now()));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        buf = buf.subarray(end + 4);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(head.split('\r\n')[0]));
        upgraded = true;
      }
      // Server frames are unmasked and, here, never fragmented.
      for (;;) {
        if (buf.length < 2) return;
        const opcode = buf[0]! & 0x0f;
        let len = buf[1]! & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        const payload = buf.subarray(off, off + len);
        buf = buf.subarray(off + len);
        if (opcode === 0x1) {
          const frame = JSON.parse(payload.toString());
          client.frames.push(frame);
          if (frame.type === 'hello') {
            clearTimeout(timer);
            resolve(client);
          }
        } else if (opcode === 0x8) client.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : null;
      }
    });
    const key = crypto.randomBytes(16).toString('base64');
    sock.write(
      `GET ${WS_PATH} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${WS_PROTOCOL}\r\nAuthorization: Bearer ${accessToken}\r\n\r\n`,
    );
  });
}
