// The SDK's client and E2EE engine as one module for a Chromium page (bundled by the e2ee-engine browser test):
// a person signs up, sets up this page's session as a device, and sends and reads in an encrypted chat. The test
// drives it through `globalThis.parleyE2ee`.
import { ParleyClient } from '@parley/sdk';
import { E2eeDevice } from '@parley/sdk/e2ee';

let device: E2eeDevice | undefined;

function current(): E2eeDevice {
  if (!device) throw new Error('Set up the device first');
  return device;
}

export const parleyE2ee = {
  /** Registers with the invite, signs in from this page and sets the session up as the account's first device. */
  async setUp(input: { inviteCode: string; username: string; password: string }): Promise<{ userId: string; deviceId: string; userAgent: string }> {
    const client = new ParleyClient({ baseUrl: location.origin });
    await client.register({ inviteCode: input.inviteCode, username: input.username, password: input.password, displayName: input.username });
    await client.login({ username: input.username, password: input.password, deviceName: 'chromium' });
    device = await E2eeDevice.setUp(client);
    return { userId: device.userId, deviceId: device.deviceId, userAgent: navigator.userAgent };
  },
  async sync(): Promise<void> {
    await current().sync();
  },
  /** Puts the device in the chat's group, making the group when the chat has none. */
  async start(chatId: string): Promise<number> {
    const chat = current().chat(chatId);
    await chat.start();
    return chat.group?.members().length ?? 0;
  },
  async send(chatId: string, text: string): Promise<{ id: string; kind: string }> {
    const sent = await current().chat(chatId).send(text);
    return { id: sent.id, kind: sent.kind };
  },
  /** What this device reads in the chat, oldest first: the decrypted text and who sent it. */
  timeline(chatId: string): { text: string | null; senderDeviceId: string | null }[] {
    return current()
      .chat(chatId)
      .timeline()
      .map((m) => ({ text: m.text, senderDeviceId: m.senderDeviceId }));
  },
};

(globalThis as { parleyE2ee?: typeof parleyE2ee }).parleyE2ee = parleyE2ee;
