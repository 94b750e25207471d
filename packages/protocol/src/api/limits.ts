import { Type, type Static } from 'typebox';
import { endpoint } from '../endpoint.ts';
import { Strict } from '../common.ts';

const Count = (description: string) => Type.Integer({ minimum: 1, description });

export const Limits = Strict(
  {
    messageLength: Count('Most Unicode code points (after NFC) a message text may have'),
    groupMembers: Count('Most members a group may have, its owner included'),
    channelSubscribers: Count('Most members a channel may have'),
    chatsPerUser: Count('Most chats one user may be in'),
    sessionsPerUser: Count('Most sessions (devices) one user may have; the oldest ends when a new one signs in'),
    fileSize: Count('Largest file one upload may declare, in bytes'),
    uploadBytesPerHour: Count('Bytes one user may start uploading per hour (counted from the declared lengths)'),
    unfinishedUploads: Count('Uploads one user may have started and not finished at once'),
    attachmentsPerMessage: Count('Most files one message may carry'),
  },
  "This server's limits, configured by its operator: clients read them instead of keeping a copy",
);
export type Limits = Static<typeof Limits>;

export const getLimits = endpoint({
  id: 'getLimits',
  method: 'GET',
  path: '/limits',
  summary: "The server's configured limits (message length, group size, ...)",
  tag: 'account',
  auth: true,
  response: Limits,
  errors: ['unauthorized'],
});
