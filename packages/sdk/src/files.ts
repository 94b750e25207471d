import { Upload, type DetailedError, type UploadOptions } from 'tus-js-client';
import { FILE_ID_HEADER, UPLOADS_PATH } from '@parley/protocol';
import { ParleyError } from './errors.ts';
import type { ParleyClient } from './http-client.ts';

/** What tus-js-client reads from: a Blob or File (browsers), a Buffer or a readable stream (Node). */
export type UploadSource = ConstructorParameters<typeof Upload>[0];

export interface UploadFileOptions {
  /** File name the server records (shown when downloading) */
  name?: string;
  mimeType?: string;
  /** Bytes in total; needed for a stream that is not a file */
  size?: number;
  /** Bytes per PATCH request (8 MiB): no request outlives proxy or server timeouts */
  chunkSize?: number;
  /** Called as bytes are sent: (sent, total) */
  onProgress?: (sent: number, total: number) => void;
  /** Resume an upload begun earlier (its `url`), from the offset the server has */
  uploadUrl?: string;
  /** Delays between retries after network errors and 5xx (none for 4xx: a limit stays a limit) */
  retryDelays?: number[];
}

export interface UploadedFile {
  fileId: string;
  size: number;
}

/** The server's answer to a failed upload request, as a ParleyError (code, status, Retry-After). */
function toParleyError(err: Error | DetailedError): ParleyError {
  const res = 'originalResponse' in err ? err.originalResponse : null;
  if (!res) return new ParleyError('network_error', `Upload failed: ${err.message}`, 0);
  let body: { error?: { code?: string; message?: string } } | null;
  try {
    body = JSON.parse(res.getBody());
  } catch {
    body = null;
  }
  const retryAfter = res.getHeader('retry-after');
  return new ParleyError(
    body?.error?.code ?? 'http_error',
    body?.error?.message ?? `Upload failed with status ${res.getStatus()}`,
    res.getStatus(),
    retryAfter ? Number(retryAfter) : undefined,
  );
}

/**
 * One resumable upload (tus 1.0). `start()` sends it; `pause()` stops it where it is and `start()`
 * again resumes from the offset the server reports; `cancel()` deletes it on the server.
 * @example
 *   const up = new FileUpload(client, buffer, { name: 'a.png', mimeType: 'image/png', onProgress: (s, t) => … });
 *   const { fileId } = await up.start();
 *   await client.sendMessage({ chatId, clientMessageId, attachments: [{ fileId, name: 'a.png', mimeType: 'image/png' }] });
 */
export class FileUpload {
  private readonly upload: Upload;
  private waiting: { resolve(f: UploadedFile): void; reject(e: ParleyError): void } | null = null;
  private total = 0;

  constructor(client: ParleyClient, source: UploadSource, options: UploadFileOptions = {}) {
    const metadata: Record<string, string> = {};
    if (options.name) metadata.filename = options.name;
    if (options.mimeType) metadata.filetype = options.mimeType;
    const tusOptions: UploadOptions = {
      endpoint: `${client.baseUrl}${UPLOADS_PATH}`,
      uploadUrl: options.uploadUrl ?? null,
      uploadSize: options.size ?? null,
      metadata,
      chunkSize: options.chunkSize ?? 8 * 1024 * 1024,
      retryDelays: options.retryDelays ?? [0, 1000, 3000, 5000],
      // The caller keeps the URL to resume with; nothing is stored behind its back.
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      async onBeforeRequest(req) {
        await client.ensureFresh();
        if (client.session) req.setHeader('Authorization', `Bearer ${client.session.accessToken}`);
      },
      onProgress: (sent, total) => {
        this.total = total;
        options.onProgress?.(sent, total);
      },
      onSuccess: ({ lastResponse }) => {
        const fileId = lastResponse.getHeader(FILE_ID_HEADER) ?? this.upload.url?.split('/').pop() ?? '';
        this.settle((w) => w.resolve({ fileId, size: this.total || (options.size ?? 0) }));
      },
      onError: (err) => this.settle((w) => w.reject(toParleyError(err))),
    };
    this.upload = new Upload(source, tusOptions);
  }

  /** The upload's URL on the server once created: keep it to resume after a restart. */
  get url(): string | null {
    return this.upload.url;
  }

  /** Starts, or resumes after pause(), and settles when the whole file is on the server. */
  start(): Promise<UploadedFile> {
    const done = new Promise<UploadedFile>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    this.upload.start();
    return done;
  }

  /** Stops sending; what reached the server stays, and start() goes on from there. */
  async pause(): Promise<void> {
    await this.upload.abort(false);
    this.settle((w) => w.reject(new ParleyError('aborted', 'The upload was paused', 0)));
  }

  /** Stops and deletes the unfinished upload on the server. */
  async cancel(): Promise<void> {
    await this.upload.abort(true);
    this.settle((w) => w.reject(new ParleyError('aborted', 'The upload was cancelled', 0)));
  }

  private settle(fn: (w: NonNullable<FileUpload['waiting']>) => void): void {
    const w = this.waiting;
    this.waiting = null;
    if (w) fn(w);
  }
}

/**
 * Uploads a file and resolves with its id, to attach to a message.
 * @example const { fileId } = await uploadFile(client, bytes, { name: 'notes.txt', mimeType: 'text/plain' });
 */
export function uploadFile(client: ParleyClient, source: UploadSource, options: UploadFileOptions = {}): Promise<UploadedFile> {
  return new FileUpload(client, source, options).start();
}
