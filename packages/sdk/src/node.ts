import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { FileUpload, type UploadedFile, type UploadFileOptions } from './files.ts';
import type { ParleyClient } from './http-client.ts';

export { FileUpload, type UploadedFile, type UploadFileOptions } from './files.ts';

/**
 * An upload from Node: a file path (its size and name read from disk; resumable from any offset),
 * a Buffer, or a readable stream (give `size`).
 * @example const up = await nodeUpload(client, '/tmp/video.mp4', { mimeType: 'video/mp4' }); await up.start();
 */
export async function nodeUpload(client: ParleyClient, source: string | Buffer | Readable, options: UploadFileOptions = {}): Promise<FileUpload> {
  if (typeof source !== 'string') return new FileUpload(client, source as Buffer, options);
  const size = (await stat(source)).size;
  // tus-js-client reopens a file stream at any offset (it knows the path), so a resume reads no byte twice.
  return new FileUpload(client, createReadStream(source) as unknown as Buffer, { name: basename(source), ...options, size });
}

/** Uploads a path, Buffer or stream from Node and resolves with the file id. */
export async function uploadFile(client: ParleyClient, source: string | Buffer | Readable, options: UploadFileOptions = {}): Promise<UploadedFile> {
  return (await nodeUpload(client, source, options)).start();
}
