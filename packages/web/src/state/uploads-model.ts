import { signal, type ReadonlySignal } from '@preact/signals';
import { FileUpload, ParleyError, type AttachmentInput, type Limits, type ParleyClient } from '@parley/sdk';
import { createModel } from './create-model.ts';
import { mediaKind, prepareFile, type MediaKind, type SendMode } from '../media/prepare.ts';
import type { PreparedMedia } from '../media/prepared-media.ts';
import { formatMiB, formatWait } from '../ui/shared/format-bytes.ts';
import type { SavedUploadJob, UploadStore } from './upload-store.ts';

/** A file picked to send, with the choice made for it. */
export interface DraftFile {
  id: string;
  file: File;
  kind: MediaKind;
  mode: SendMode;
  /** Made on this device already (a recorded voice note): uploaded as it is, with what the message says about it */
  prepared?: PreparedMeta;
}

/** What a prepared file's message says about it, without its bytes. */
export type PreparedMeta = Omit<PreparedMedia, 'blob'>;

export type UploadState = 'queued' | 'preparing' | 'uploading' | 'paused' | 'done' | 'failed';

/** One file of a message on its way, as the composer shows it. */
export interface UploadView {
  id: string;
  name: string;
  kind: MediaKind;
  state: UploadState;
  sent: number;
  total: number;
  /** Bytes per second over the last seconds */
  speed: number;
  error?: string;
}

/** A message waiting for its files to upload before it is sent. */
export interface OutgoingView {
  id: string;
  chatId: string;
  text: string;
  items: UploadView[];
}

interface Item {
  view: UploadView;
  draft: DraftFile;
  prepared?: PreparedMedia;
  upload?: FileUpload;
  abort?: AbortController;
  attachment?: AttachmentInput;
  samples: { t: number; sent: number }[];
}

interface Job {
  id: string;
  userId: string;
  chatId: string;
  text: string;
  replyToId?: string;
  items: Item[];
  /** Ends the job's hold on its lock (sent, dropped, or signed out) */
  release(): void;
}

/** What the model needs from the rest of the app. */
export interface UploadsDeps {
  userId: ReadonlySignal<string | undefined>;
  limits: ReadonlySignal<Limits | null>;
  /** Sends through the outbox; the job's id is the clientMessageId, so a message sent twice (two tabs) is stored once */
  send(chatId: string, text: string, replyToId: string | undefined, attachments: AttachmentInput[], clientMessageId: string): void;
  /** Where waiting messages are kept across reloads */
  store?: UploadStore;
}

let counter = 0;
const newId = () => `u${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 10)}`;

/** The text shown for a failed upload: the limit in MiB for 413, the wait for 429. */
export function uploadErrorText(err: unknown, name: string, limits: Limits | null): string {
  if (!(err instanceof ParleyError)) return `Could not prepare "${name}"`;
  if (err.code === 'file_too_large' || err.status === 413)
    return limits ? `"${name}" is too large: files can be at most ${formatMiB(limits.fileSize)}` : `"${name}" is too large: ${err.message}`;
  const wait = err.retryAfter ? `try again in ${formatWait(err.retryAfter)}` : 'try again later';
  if (err.code === 'too_many_uploads') return `Too many unfinished uploads: finish or cancel one, or ${wait}`;
  if (err.code === 'rate_limited' || err.status === 429) return `Upload limit reached: ${wait}`;
  if (err.status === 0) return `Upload interrupted: ${err.message}`;
  return err.message;
}

/**
 * Runs `start` while this tab holds the job's lock (Web Locks, shared by the tabs of this origin), until
 * it calls `release`; a job another tab holds is left to it. Without Web Locks, every tab may take it
 * (the clientMessageId still stores its message once).
 */
async function hold(jobId: string, start: (release: () => void) => void): Promise<void> {
  if (typeof navigator === 'undefined' || !navigator.locks) return start(() => {});
  await navigator.locks.request(`parley-upload-${jobId}`, { ifAvailable: true }, (lock) => {
    if (!lock) return;
    return new Promise<void>((resolve) => start(resolve));
  });
}

/**
 * Messages with files: each file is prepared (photos compressed on this device), uploaded with
 * resumable tus, and when all are on the server the message goes through the outbox with them.
 * One file of a message uploads at a time, so a message never takes more than one of the
 * server's unfinished-upload slots.
 */
export const UploadsModel = createModel((client: ParleyClient, deps: UploadsDeps) => {
  const outgoing = signal<OutgoingView[]>([]);
  const jobs: Job[] = [];

  function publish(): void {
    outgoing.value = jobs.map((j) => ({ id: j.id, chatId: j.chatId, text: j.text, items: j.items.map((i) => ({ ...i.view })) }));
  }

  function save(job: Job): void {
    const saved: SavedUploadJob = {
      id: job.id,
      userId: job.userId,
      chatId: job.chatId,
      text: job.text,
      ...(job.replyToId ? { replyToId: job.replyToId } : {}),
      items: job.items.map((i) => ({
        id: i.view.id,
        file: i.draft.file,
        mode: i.draft.mode,
        ...(i.draft.prepared ? { prepared: i.draft.prepared } : {}),
        ...(i.attachment ? { attachment: i.attachment } : {}),
      })),
    };
    void deps.store?.save(saved);
  }

  function forget(job: Job): void {
    void deps.store?.remove(job.id);
  }

  function itemOf(draft: DraftFile, attachment?: AttachmentInput): Item {
    const name = draft.file.name || 'file';
    const size = draft.file.size;
    return {
      draft,
      samples: [],
      ...(attachment ? { attachment } : {}),
      view: attachment
        ? { id: draft.id, name, kind: draft.kind, state: 'done', sent: size, total: size, speed: 0 }
        : { id: draft.id, name, kind: draft.kind, state: 'queued', sent: 0, total: size, speed: 0 },
    };
  }

  function find(itemId: string): { job: Job; item: Item } | undefined {
    for (const job of jobs) {
      const item = job.items.find((i) => i.view.id === itemId);
      if (item) return { job, item };
    }
    return undefined;
  }

  function progress(item: Item, sent: number, total: number): void {
    const now = performance.now();
    item.samples.push({ t: now, sent });
    while (item.samples.length > 2 && now - item.samples[0].t > 3000) item.samples.shift();
    const first = item.samples[0];
    const dt = (now - first.t) / 1000;
    item.view = { ...item.view, sent, total, speed: dt > 0.2 ? Math.max(0, (sent - first.sent) / dt) : item.view.speed };
    publish();
  }

  /** Starts the next file of a job, or sends the message when all are uploaded. */
  function pump(job: Job): void {
    if (!jobs.includes(job)) return;
    if (job.items.some((i) => i.view.state === 'preparing' || i.view.state === 'uploading')) return;
    const next = job.items.find((i) => i.view.state === 'queued');
    if (next) return void run(job, next);
    if (job.items.length > 0 && job.items.every((i) => i.view.state === 'done')) {
      jobs.splice(jobs.indexOf(job), 1);
      forget(job);
      job.release();
      publish();
      deps.send(
        job.chatId,
        job.text,
        job.replyToId,
        job.items.map((i) => i.attachment!),
        job.id,
      );
    }
  }

  async function run(job: Job, item: Item): Promise<void> {
    const { draft } = item;
    try {
      if (!item.prepared) {
        item.view = { ...item.view, state: 'preparing' };
        publish();
        item.abort = new AbortController();
        item.prepared = draft.prepared ? { ...draft.prepared, blob: draft.file } : await prepareFile(draft.file, draft.mode, { signal: item.abort.signal });
        if (!find(item.view.id)) return;
      }
      const p = item.prepared;
      item.view = { ...item.view, state: 'uploading', total: p.blob.size };
      item.samples = [];
      publish();
      // Only the file's own bytes may resume after a reload: a re-encoded blob has no stable identity.
      const sameBytes = p.blob === draft.file;
      item.upload ??= new FileUpload(client, p.blob, {
        name: p.name,
        mimeType: p.mimeType,
        onProgress: (sent, total) => progress(item, sent, total),
        ...(sameBytes && deps.userId.value ? { resumeKey: deps.userId.value } : {}),
      });
      const done = await item.upload.start();
      const { blob: _blob, ...meta } = p;
      item.attachment = { ...meta, fileId: done.fileId, size: done.size || p.blob.size };
      item.view = { ...item.view, state: 'done', sent: p.blob.size };
      save(job);
    } catch (err) {
      if (!find(item.view.id)) return;
      // Paused: the state was set by pause(); nothing failed.
      if (err instanceof ParleyError && err.code === 'aborted') return;
      if (err instanceof DOMException && err.name === 'AbortError') return;
      item.view = { ...item.view, state: 'failed', error: uploadErrorText(err, draft.file.name, deps.limits.value) };
      // A refused upload was never created: the next try starts a new one.
      if (item.upload && !item.upload.url) item.upload = undefined;
    }
    publish();
    pump(job);
  }

  return {
    outgoing,
    /** A new draft entry for a picked file: photos and videos are compressed unless chosen otherwise. */
    draft(file: File): DraftFile {
      return { id: newId(), file, kind: mediaKind(file), mode: 'compressed' };
    },
    /** A file made on this device (a recorded voice note), to send as it is. */
    preparedDraft(media: PreparedMedia): DraftFile {
      const { blob, ...meta } = media;
      const file = new File([blob], media.name, { type: media.mimeType });
      return { id: newId(), file, kind: 'file', mode: 'original', prepared: meta };
    },
    /** Uploads the files, then sends the message with them (and the caption). */
    send(chatId: string, text: string, replyToId: string | undefined, files: DraftFile[]): void {
      const userId = deps.userId.value;
      if (!userId) return;
      const id = newId();
      void hold(id, (release) => {
        const job: Job = { id, userId, chatId, text, replyToId, items: files.map((draft) => itemOf(draft)), release };
        jobs.push(job);
        save(job);
        publish();
        pump(job);
      });
    },
    /**
     * Goes on with the messages this user left waiting before a reload: the files' own bytes resume
     * from the server's offset (tus remembers them per user), re-encoded photos are prepared again.
     */
    async restore(userId: string): Promise<void> {
      const saved = (await deps.store?.load(userId)) ?? [];
      for (const s of saved) {
        if (jobs.some((j) => j.id === s.id)) continue;
        // Another tab may be uploading it: the tab holding its lock goes on with it.
        void hold(s.id, (release) => {
          if (deps.userId.value !== userId || jobs.some((j) => j.id === s.id)) return release();
          const items = s.items.map((i) =>
            itemOf({ id: i.id, file: i.file, kind: mediaKind(i.file), mode: i.mode, ...(i.prepared ? { prepared: i.prepared } : {}) }, i.attachment),
          );
          const job: Job = { id: s.id, userId, chatId: s.chatId, text: s.text, replyToId: s.replyToId, items, release };
          jobs.push(job);
          publish();
          pump(job);
        });
      }
    },
    /** Stops an upload where it is; resume() goes on from the server's offset. */
    pause(itemId: string): void {
      const f = find(itemId);
      if (!f || f.item.view.state !== 'uploading' || !f.item.upload) return;
      f.item.view = { ...f.item.view, state: 'paused', speed: 0 };
      publish();
      void f.item.upload.pause();
    },
    resume(itemId: string): void {
      const f = find(itemId);
      if (!f || f.item.view.state !== 'paused') return;
      f.item.view = { ...f.item.view, state: 'queued' };
      publish();
      pump(f.job);
    },
    /** Tries a failed file again. */
    retry(itemId: string): void {
      const f = find(itemId);
      if (!f || f.item.view.state !== 'failed') return;
      f.item.view = { ...f.item.view, state: 'queued', error: undefined };
      publish();
      pump(f.job);
    },
    /** Drops a file from its message (deleting its upload on the server); a message left with nothing is dropped. */
    cancel(itemId: string): void {
      const f = find(itemId);
      if (!f) return;
      const { job, item } = f;
      job.items.splice(job.items.indexOf(item), 1);
      item.abort?.abort();
      if (item.upload && item.view.state !== 'done') void item.upload.cancel().catch(() => {});
      if (job.items.length === 0) {
        jobs.splice(jobs.indexOf(job), 1);
        forget(job);
        job.release();
      } else save(job);
      publish();
      pump(job);
    },
    /** Stops everything (signing out). */
    reset(): void {
      for (const job of jobs) {
        for (const item of job.items) void item.upload?.pause().catch(() => {});
        job.release();
      }
      jobs.length = 0;
      publish();
    },
  };
});
export type UploadsModel = InstanceType<typeof UploadsModel>;
