/**
 * A file made ready to upload on this device: re-encoded or recorded media, or a file as it is,
 * with what the message says about it (dimensions, duration, previews). `blob` is what is uploaded.
 */
export interface PreparedMedia {
  blob: Blob;
  name: string;
  mimeType: string;
  width?: number;
  height?: number;
  durationMs?: number;
  /** ThumbHash placeholder, base64 */
  thumbhash?: string;
  /** A small JPEG or WebP preview (≤ 96 px a side), base64, at most MAX_THUMBNAIL_LENGTH characters */
  thumbnail?: string;
  /** A voice note recorded in the app */
  voice?: boolean;
  /** Up to 64 loudness bytes (0–255), base64 */
  waveform?: string;
}
