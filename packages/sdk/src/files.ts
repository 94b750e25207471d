import type { DetailedError, PreviousUpload, Upload, UploadOptions } from 'tus-js-client';
import { FILE_ID_HEADER, SHA256_HEADER, UPLOADS_PATH } from '@parley/protocol/constants';
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
  /**
   * Browsers: remember the upload in localStorage under this key (e.g. the user's id), so that a new
   * FileUpload of the same file (name, type, size, date) after a page reload resumes it from the
   * server's offset. The entry is removed when the upload finishes or is cancelled. Ignored in Node.
   */
  resumeKey?: string;
}

export interface UploadedFile {
  fileId: string;
  size: number;
  /** Hex sha256 of the bytes the server stored (compare it with the file's to know it arrived whole) */
  sha256?: string;
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
  // tus-js-client (about 18 KB gzipped in a browser) is loaded when the first upload starts, not with the page.
  private upload: Upload | null = null;
  private readonly tusOptions: UploadOptions;
  private readonly source: UploadSource;
  private waiting: { resolve(f: UploadedFile): void; reject(e: ParleyError): void } | null = null;
  private total = 0;
  private readonly resumeKey?: string;
  private checkedPrevious = false;
  private stopped = false;

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
      // Without a resumeKey the caller keeps the URL to resume with; nothing is stored behind its back.
      storeFingerprintForResuming: options.resumeKey !== undefined,
      removeFingerprintOnSuccess: true,
      // Per user: one browser profile may hold the uploads of several accounts.
      ...(options.resumeKey !== undefined
        ? {
            fingerprint: async (file: File, opts: UploadOptions) =>
              `parley-${options.resumeKey}-${await (await import('tus-js-client')).defaultOptions.fingerprint(file, opts)}`,
          }
        : {}),
      async onBeforeRequest(req) {
        await client.ensureFresh();
        if (client.session) req.setHeader('Authorization', `Bearer ${client.session.accessToken}`);
      },
      onProgress: (sent, total) => {
        this.total = total;
        options.onProgress?.(sent, total);
      },
      onSuccess: ({ lastResponse }) => {
        const fileId = lastResponse.getHeader(FILE_ID_HEADER) ?? this.url?.split('/').pop() ?? '';
        const sha256 = lastResponse.getHeader(SHA256_HEADER);
        this.settle((w) => w.resolve({ fileId, size: this.total || (options.size ?? 0), ...(sha256 ? { sha256 } : {}) }));
      },
      onError: (err) => this.settle((w) => w.reject(toParleyError(err))),
    };
    this.tusOptions = tusOptions;
    this.source = source;
    this.resumeKey = options.resumeKey;
  }

  /** The upload's URL on the server once created: keep it to resume after a restart. */
  get url(): string | null {
    return this.upload ? this.upload.url : (this.tusOptions.uploadUrl ?? null);
  }

  /**
   * Starts, or resumes after pause(), and settles when the whole file is on the server. With a
   * `resumeKey`, the first start looks for an unfinished upload of the same file kept by an earlier
   * page, and goes on from the offset the server has for it.
   */
  start(): Promise<UploadedFile> {
    const done = new Promise<UploadedFile>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    this.stopped = false;
    void this.begin();
    return done;
  }

  private async begin(): Promise<void> {
    let upload = this.upload;
    if (!upload) {
      const tus = await import('tus-js-client').catch((err: Error) => {
        this.settle((w) => w.reject(new ParleyError('network_error', `Could not load the uploader: ${err.message}`, 0)));
        return null;
      });
      if (!tus) return;
      upload = this.upload ??= new tus.Upload(this.source, this.tusOptions);
      // Paused or cancelled while it loaded.
      if (this.stopped) return;
    }
    if (this.resumeKey !== undefined && !this.checkedPrevious && !upload.url) {
      this.checkedPrevious = true;
      const previous = await findPrevious(upload);
      if (previous) upload.resumeFromPreviousUpload(previous);
      // Paused or cancelled while looking.
      if (this.stopped) return;
    }
    upload.start();
  }

  /** Stops sending; what reached the server stays, and start() goes on from there. */
  async pause(): Promise<void> {
    this.stopped = true;
    await this.upload?.abort(false);
    this.settle((w) => w.reject(new ParleyError('aborted', 'The upload was paused', 0)));
  }

  /** Stops and deletes the unfinished upload on the server. */
  async cancel(): Promise<void> {
    this.stopped = true;
    await this.upload?.abort(true);
    this.settle((w) => w.reject(new ParleyError('aborted', 'The upload was cancelled', 0)));
  }

  private settle(fn: (w: NonNullable<FileUpload['waiting']>) => void): void {
    const w = this.waiting;
    this.waiting = null;
    if (w) fn(w);
  }
}

/** The newest unfinished upload of this file that an earlier page remembered, if any. */
async function findPrevious(upload: Upload): Promise<PreviousUpload | undefined> {
  try {
    const found = await upload.findPreviousUploads();
    return found.sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime))[0];
  } catch {
    return undefined;
  }
}

/**
 * Uploads a file and resolves with its id, to attach to a message.
 * @example const { fileId } = await uploadFile(client, bytes, { name: 'notes.txt', mimeType: 'text/plain' });
 */
export function uploadFile(client: ParleyClient, source: UploadSource, options: UploadFileOptions = {}): Promise<UploadedFile> {
  return new FileUpload(client, source, options).start();
}

export interface DownloadOptions {
  /** Called as bytes arrive: (received, total); total is 0 when the server sent no length */
  onProgress?: (received: number, total: number) => void;
  /** Stops the download; the promise then rejects with code `aborted` */
  signal?: AbortSignal;
  range?: { start: number; end?: number };
}

/**
 * Downloads a file into a Blob (of the server's content type), reading the body as it arrives to
 * report progress. A missing file, or one I may not read, rejects with `not_found` (404).
 * @example const blob = await downloadWithProgress(client, fileId, { onProgress: (got, total) => … });
 */
export async function downloadWithProgress(client: ParleyClient, fileId: string, options: DownloadOptions = {}): Promise<Blob> {
  if (options.signal?.aborted) throw new ParleyError('aborted', 'The download was cancelled', 0);
  const res = await client.downloadFile(fileId, options.range ? { range: options.range } : {});
  return readWithProgress(res, options);
}

/**
 * Reads a response's body into a Blob (of its content type) as it arrives, reporting progress: a
 * file download, or a data export (`client.exportMyData()`).
 * @example const blob = await readWithProgress(await client.exportMyData(), { onProgress: (got) => … });
 */
export async function readWithProgress(res: Response, options: Omit<DownloadOptions, 'range'> = {}): Promise<Blob> {
  const aborted = () => new ParleyError('aborted', 'The download was cancelled', 0);
  if (options.signal?.aborted) throw aborted();
  const type = res.headers.get('content-type') ?? 'application/octet-stream';
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  if (!res.body) return new Blob([await res.arrayBuffer()], { type });
  const reader = res.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  options.signal?.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    options.onProgress?.(0, total);
    for (;;) {
      const { done, value } = await reader.read();
      if (options.signal?.aborted) throw aborted();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      options.onProgress?.(received, total);
    }
  } catch (err) {
    if (options.signal?.aborted) throw aborted();
    if (err instanceof ParleyError) throw err;
    throw new ParleyError('network_error', `Download failed: ${(err as Error).message}`, 0);
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
  return new Blob(chunks as BlobPart[], { type });
}
