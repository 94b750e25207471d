import { endpoint } from '../endpoint.ts';
import { FileResponse, Id, Strict } from '../common.ts';

/** The media type of a data export. */
export const EXPORT_MEDIA_TYPE = 'application/zip';

const ExportZip = FileResponse(
  EXPORT_MEDIA_TYPE,
  'A zip, streamed as it is made: README.txt (what is inside), profile.json (profile, settings, sessions), chats.json (chats and members’ names), messages/<chatId>.json and .txt (the messages the account wrote), files/<fileId>-<name> (the files it uploaded that are still in use)',
);

export const exportMyData = endpoint({
  id: 'exportMyData',
  method: 'GET',
  path: '/me/export',
  summary: 'Download my data as a zip (a few per hour: each reads all of an account’s data)',
  tag: 'account',
  auth: true,
  response: ExportZip,
  produces: EXPORT_MEDIA_TYPE,
  errors: ['unauthorized', 'rate_limited'],
});

export const exportUserData = endpoint({
  id: 'exportUserData',
  method: 'GET',
  path: '/admin/users/:userId/export',
  summary: 'Admins: download an account’s data, the same zip as its owner gets (counted against the admin’s exports)',
  tag: 'admin',
  auth: true,
  params: Strict({ userId: Id }),
  response: ExportZip,
  produces: EXPORT_MEDIA_TYPE,
  errors: ['unauthorized', 'forbidden', 'not_found', 'rate_limited'],
});

export const deleteUserData = endpoint({
  id: 'deleteUserData',
  method: 'POST',
  path: '/admin/users/:userId/delete',
  summary:
    'Admins: delete an account as its owner would (sessions end, chats are left, the profile is emptied; messages to others stay, from a deleted account) and release its files for collection',
  tag: 'admin',
  auth: true,
  status: 204,
  params: Strict({ userId: Id }),
  errors: ['unauthorized', 'forbidden', 'not_found', 'invalid_request'],
});
