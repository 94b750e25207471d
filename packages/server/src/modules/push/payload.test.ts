import { describe, expect, it } from 'vitest';
import { PUSH_BODY_LENGTH, pushPayload } from './payload.ts';

const message = { chatId: 'c1', text: 'Lunch at noon?', attachments: [] };

describe('pushPayload', () => {
  it('shows the text of a plaintext chat under the sender, and the group too', () => {
    expect(pushPayload({ kind: 'private', title: null, e2ee: 0 }, message, 'Ann')).toEqual({ chatId: 'c1', title: 'Ann', body: 'Lunch at noon?' });
    expect(pushPayload({ kind: 'group', title: 'Team', e2ee: 0 }, message, 'Ann').title).toBe('Ann in Team');
  });

  it('says only "New message" for an end-to-end encrypted chat', () => {
    expect(pushPayload({ kind: 'private', title: null, e2ee: 1 }, message, 'Ann')).toEqual({ chatId: 'c1', title: 'Ann', body: 'New message' });
  });

  it('truncates a long text by code points, and names what a message of files carries', () => {
    const body = pushPayload({ kind: 'private', title: null, e2ee: 0 }, { ...message, text: '😀'.repeat(500) }, 'Ann').body;
    expect([...body]).toHaveLength(PUSH_BODY_LENGTH);
    expect(body.endsWith('…')).toBe(true);
    const photo = { chatId: 'c1', text: '', attachments: [{ fileId: 'f', name: 'a.png', mimeType: 'image/png', size: 1 }] };
    expect(pushPayload({ kind: 'private', title: null, e2ee: 0 }, photo, 'Ann').body).toBe('Photo');
  });
});
