import { effect, signal, type ReadonlySignal } from '@preact/signals';
import { createModel } from '../state/create-model.ts';
import type { CallNotice, ParleyRealtime } from '@parley/sdk';
import type { CallEngine } from './call-engine.ts';

/** Where a call stands, as the UI shows it. */
export type CallPhase = 'calling' | 'incoming' | 'connecting' | 'connected' | 'ended';

export interface CallView {
  /** null until the server has recorded my invite */
  callId: string | null;
  chatId: string;
  peerId: string;
  direction: 'out' | 'in';
  phase: CallPhase;
  muted: boolean;
  /** When the media connected (ms since the epoch): the duration counts from here */
  connectedAt: number | null;
  /** How it ended, in words ("Declined", "Answered on another device"), once ended */
  outcome: string | null;
}

export interface CallsDeps {
  /** The socket of the moment (a new one after each reconnect), or null while there is none */
  realtime(): ParleyRealtime | null;
  myId(): string | undefined;
  /** Whether the socket is up: when it comes back, a call of mine is taken back (call.resume) */
  online: ReadonlySignal<boolean>;
}

/**
 * The calls of this device. It stays light: the WebRTC code (call-engine.ts) loads only when a call
 * starts or rings, and the frames that come meanwhile wait for it in order.
 */
export const CallsModel = createModel((deps: CallsDeps) => {
  const call = signal<CallView | null>(null);
  let engine: Promise<CallEngine> | null = null;
  /** Frames run one after the other, so an answer is applied before the candidates that follow it. */
  let queue: Promise<unknown> = Promise.resolve();

  function load(): Promise<CallEngine> {
    engine ??= import('./call-engine.ts').then((m) => m.createCallEngine(deps, call));
    return engine;
  }

  let wasOnline = deps.online.peek();
  effect(() => {
    const online = deps.online.value;
    if (online && !wasOnline && engine) void run((e) => e.resume());
    wasOnline = online;
  });

  function run(job: (e: CallEngine) => unknown): Promise<void> {
    const next = queue.then(load).then(job);
    queue = next.catch((err: unknown) => console.error('call', err));
    return next.then(() => undefined);
  }

  return {
    call,
    /** A call frame from the socket. Nothing loads for frames about calls this device is not in. */
    onFrame(frame: CallNotice) {
      if (!engine && frame.type !== 'call.incoming') return;
      void run((e) => e.onFrame(frame));
    },
    /** Calls the other member of a private chat. */
    start(chatId: string, peerId: string): Promise<void> {
      return run((e) => e.start(chatId, peerId));
    },
    accept: () => run((e) => e.accept()),
    decline: () => run((e) => e.decline()),
    hangup: () => run((e) => e.hangup()),
    setMuted: (muted: boolean) => run((e) => e.setMuted(muted)),
    /** Forgets the ended call's outcome line. */
    dismiss() {
      if (call.value?.phase === 'ended') call.value = null;
    },
    /** Signing out: the call ends here (the server ends it as gone with the session). */
    reset() {
      if (engine) void run((e) => e.close());
      call.value = null;
    },
  };
});
export type CallsModel = InstanceType<typeof CallsModel>;
