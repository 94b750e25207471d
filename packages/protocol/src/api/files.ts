import { Type, type Static } from 'typebox';
import { Strict } from '../common.ts';
import { MAX_THUMBNAIL_LENGTH } from '../constants.ts';

/** Most attachments one message may carry. */
export const MAX_ATTACHMENTS = 10;

export const FileId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'A file id: the id of the upload it came from' });

const attachmentFields = {
  fileId: FileId,
  name: Type.String({ minLength: 1, maxLength: 255, description: 'The file name shown to readers (no path)' }),
  mimeType: Type.String({
    minLength: 3,
    maxLength: 127,
    pattern: '^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$',
    description: 'e.g. `image/webp`',
  }),
  width: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535, description: 'Image or video width in pixels' })),
  height: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535, description: 'Image or video height in pixels' })),
  durationMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'Audio or video length in milliseconds' })),
  thumbhash: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9+/=]+$', description: 'A ThumbHash placeholder, base64' })),
  thumbnail: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_THUMBNAIL_LENGTH,
      pattern: '^[A-Za-z0-9+/=]+$',
      description: 'A small preview (a JPEG or WebP of at most 96 px a side, base64), e.g. a video poster shown before the download',
    }),
  ),
  voice: Type.Optional(Type.Boolean({ description: 'A voice note recorded in the app (an audio file shown as a player), not an audio file sent as such' })),
  waveform: Type.Optional(
    Type.String({ minLength: 1, maxLength: 88, pattern: '^[A-Za-z0-9+/=]+$', description: "A voice note's loudness: up to 64 bytes (0–255), base64" }),
  ),
};

/** Largest profile picture, in bytes: the web client sends a 512 px WebP of a few dozen KiB. */
export const MAX_AVATAR_BYTES = 2 * 1024 * 1024;
/** What a profile picture may be. */
export const AVATAR_MIME_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

/** A profile picture (of a user, group or channel): a finished upload, downloaded like any file. */
export const AvatarFileId = Type.Union([FileId, Type.Null()], {
  description: `A profile picture: a file id (download it at \`GET /api/v1/files/:fileId\`), or null for none. Set it to a finished upload of mine: ${AVATAR_MIME_TYPES.join(', ')}, at most 2 MiB`,
});

/** A file as a message carries it. */
export const Attachment = Strict(
  { ...attachmentFields, size: Type.Integer({ minimum: 0, description: 'Size in bytes, as the server stored it' }) },
  'A file attached to a message; download it at `GET /api/v1/files/:fileId`',
);
export type Attachment = Static<typeof Attachment>;

/** A file to attach when sending: an upload of mine that has finished. */
export const AttachmentInput = Strict(
  { ...attachmentFields, size: Type.Optional(Type.Integer({ minimum: 0, description: 'If given, must equal the uploaded size' })) },
  'A finished upload of mine to attach (its id is the upload id)',
);
export type AttachmentInput = Static<typeof AttachmentInput>;
