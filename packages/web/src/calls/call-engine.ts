import type { Signal } from '@preact/signals';
import { ParleyError, type CallEndReason, type CallNotice, type IceCandidate, type IceServer, type ParleyRealtime } from '@parley/sdk';
import type { CallsDeps, CallView } from './calls-model.ts';

/** How long ICE may stay `disconnected` before this side restarts it. */
const DISCONNECTED_MS = 3000;
/** How long an ended call's outcome stays on screen. */
const OUTCOME_MS = 5000;

export type CallEngine = ReturnType<typeof createCallEngine>;

interface Live {
  callId: string | null;
  chatId: string;
  peerId: string;
  pc: RTCPeerConnection | null;
  mic: MediaStream | null;
  audio: HTMLAudioElement | null;
  /** The caller's offer, kept until this device answers */
  offer: RTCSessionDescriptionInit | null;
  iceServers: IceServer[];
  /** The peer's candidates that came before its description */
  remoteIce: (RTCIceCandidateInit | null)[];
  /** Mine, held until the server has recorded my answer (it refuses signals before) */
  localIce: (IceCandidate | null)[] | null;
  makingOffer: boolean;
  ignoreOffer: boolean;
  polite: boolean;
  disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
}

const OUTCOMES: Record<CallEndReason, { out: string; in: string }> = {
  declined: { out: 'Declined', in: 'Declined' },
  busy: { out: 'Busy', in: 'Busy' },
  missed: { out: 'No answer', in: 'Missed call' },
  hangup: { out: 'Call ended', in: 'Call ended' },
  failed: { out: 'Call failed', in: 'Call failed' },
  gone: { out: 'Call ended: connection lost', in: 'Call ended: connection lost' },
};

/**
 * One device's 1:1 calls over WebRTC: the microphone, one RTCPeerConnection per call, trickle ICE
 * over call.signal, perfect negotiation for later offers (polite = the smaller user id) and an ICE
 * restart when the connection fails or stays disconnected.
 */
export function createCallEngine(deps: CallsDeps, view: Signal<CallView | null>) {
  let live: Live | null = null;
  let clearTimer: ReturnType<typeof setTimeout> | undefined;

  function rt(): ParleyRealtime {
    const r = deps.realtime();
    if (!r) throw new Error('Not connected to the server');
    return r;
  }

  function update(patch: Partial<CallView>): void {
    if (view.value) view.value = { ...view.value, ...patch };
  }

  function newLive(chatId: string, peerId: string, callId: string | null): Live {
    const me = deps.myId() ?? '';
    return {
      callId,
      chatId,
      peerId,
      pc: null,
      mic: null,
      audio: null,
      offer: null,
      iceServers: [],
      remoteIce: [],
      localIce: null,
      makingOffer: false,
      ignoreOffer: false,
      polite: me < peerId,
      disconnectedTimer: undefined,
    };
  }

  function sendIce(c: Live, ice: IceCandidate | null): void {
    if (c.localIce) c.localIce.push(ice);
    else if (c.callId) rt().signalCall(c.callId, { ice });
  }

  function createPeer(c: Live): RTCPeerConnection {
    const pc = new RTCPeerConnection({ iceServers: c.iceServers.map((s) => ({ ...s })) });
    c.pc = pc;
    pc.onicecandidate = (e) => sendIce(c, e.candidate ? { ...e.candidate.toJSON(), candidate: e.candidate.candidate } : null);
    pc.ontrack = (e) => {
      // Chromium decodes (and getStats counts audio energy) only for a track that plays somewhere.
      c.audio ??= document.body.appendChild(Object.assign(document.createElement('audio'), { autoplay: true, hidden: true }));
      c.audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      void c.audio.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (live !== c) return;
      const s = pc.connectionState;
      if (s === 'connected') {
        clearTimeout(c.disconnectedTimer);
        c.disconnectedTimer = undefined;
        if (view.value?.phase !== 'connected') update({ phase: 'connected', connectedAt: view.value?.connectedAt ?? Date.now() });
      } else if (s === 'failed') {
        pc.restartIce();
      } else if (s === 'disconnected' && !c.disconnectedTimer) {
        c.disconnectedTimer = setTimeout(() => {
          c.disconnectedTimer = undefined;
          if (live === c && pc.connectionState === 'disconnected') pc.restartIce();
        }, DISCONNECTED_MS);
      }
    };
    return pc;
  }

  /** Later offers (an ICE restart) go both ways over call.signal; a collision is settled by who is polite. */
  function negotiateLater(c: Live): void {
    const pc = c.pc!;
    pc.onnegotiationneeded = async () => {
      try {
        c.makingOffer = true;
        await pc.setLocalDescription();
        if (live === c && c.callId) rt().signalCall(c.callId, { sdp: pc.localDescription!.toJSON() as { type: 'offer'; sdp: string } });
      } catch (err) {
        console.error('call renegotiation', err);
      } finally {
        c.makingOffer = false;
      }
    };
  }

  async function onRemoteSdp(c: Live, sdp: RTCSessionDescriptionInit): Promise<void> {
    const pc = c.pc;
    if (!pc) return;
    const collision = sdp.type === 'offer' && (c.makingOffer || pc.signalingState !== 'stable');
    c.ignoreOffer = !c.polite && collision;
    if (c.ignoreOffer) return;
    await pc.setRemoteDescription(sdp);
    await flushRemoteIce(c);
    if (sdp.type === 'offer') {
      await pc.setLocalDescription();
      if (c.callId) rt().signalCall(c.callId, { sdp: pc.localDescription!.toJSON() as { type: 'answer'; sdp: string } });
    }
  }

  async function addRemoteIce(c: Live, ice: RTCIceCandidateInit | null): Promise<void> {
    if (!c.pc?.remoteDescription) {
      c.remoteIce.push(ice);
      return;
    }
    try {
      await c.pc.addIceCandidate(ice ?? undefined);
    } catch (err) {
      if (!c.ignoreOffer) console.error('call candidate', err);
    }
  }

  async function flushRemoteIce(c: Live): Promise<void> {
    const pending = c.remoteIce;
    c.remoteIce = [];
    for (const ice of pending) await addRemoteIce(c, ice);
  }

  async function microphone(c: Live): Promise<MediaStream> {
    c.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    return c.mic;
  }

  function teardown(c: Live): void {
    clearTimeout(c.disconnectedTimer);
    c.pc?.close();
    c.mic?.getTracks().forEach((t) => t.stop());
    if (c.audio) {
      c.audio.srcObject = null;
      c.audio.remove();
    }
    if (live === c) live = null;
  }

  /** Ends the call here and shows how it ended for a while. */
  function finish(c: Live, outcome: string): void {
    teardown(c);
    update({ phase: 'ended', outcome });
    clearTimeout(clearTimer);
    clearTimer = setTimeout(() => {
      if (view.value?.phase === 'ended') view.value = null;
    }, OUTCOME_MS);
  }

  function isMine(callId: string): Live | null {
    return live && live.callId === callId ? live : null;
  }

  return {
    async start(chatId: string, peerId: string): Promise<void> {
      if (live) return;
      clearTimeout(clearTimer);
      const c = newLive(chatId, peerId, null);
      live = c;
      view.value = { callId: null, chatId, peerId, direction: 'out', phase: 'calling', muted: false, connectedAt: null, outcome: null };
      try {
        const mic = await microphone(c);
        const pc = createPeer(c);
        for (const t of mic.getTracks()) pc.addTrack(t, mic);
        // The offer goes with the invite; it is set locally only once the server has given the ICE
        // servers (TURN credentials), so gathering uses them and every candidate has its call id.
        const offer = await pc.createOffer();
        const placed = await rt().inviteCall({ chatId, offer: { type: 'offer', sdp: offer.sdp! } });
        c.callId = placed.callId;
        update({ callId: placed.callId });
        if (live !== c) return void rt().hangupCall(placed.callId);
        pc.setConfiguration({ iceServers: placed.iceServers.map((s) => ({ ...s })) });
        await pc.setLocalDescription(offer);
      } catch (err) {
        if (live !== c) return;
        const code = err instanceof ParleyError ? err.code : null;
        finish(c, code === 'callee_busy' ? 'Busy' : code === 'call_exists' ? 'A call is already going on in this chat' : 'Could not call');
        if (code !== 'callee_busy' && code !== 'call_exists') console.error('call', err);
      }
    },

    async accept(): Promise<void> {
      const c = live;
      if (!c || !c.offer || !c.callId || view.value?.phase !== 'incoming') return;
      update({ phase: 'connecting' });
      try {
        const mic = await microphone(c);
        const pc = createPeer(c);
        await pc.setRemoteDescription(c.offer);
        for (const t of mic.getTracks()) pc.addTrack(t, mic);
        const answer = await pc.createAnswer();
        c.localIce = [];
        const accepted = rt().acceptCall(c.callId, { type: 'answer', sdp: answer.sdp! });
        await pc.setLocalDescription(answer);
        await flushRemoteIce(c);
        await accepted;
        const held = c.localIce;
        c.localIce = null;
        for (const ice of held) sendIce(c, ice);
        negotiateLater(c);
      } catch (err) {
        if (live !== c) return;
        const code = err instanceof ParleyError ? err.code : null;
        finish(c, code === 'call_not_ringing' ? 'Answered on another device' : 'Could not answer');
        if (code !== 'call_not_ringing') console.error('call', err);
      }
    },

    async decline(): Promise<void> {
      const c = live;
      if (!c?.callId || view.value?.phase !== 'incoming') return;
      finish(c, 'Declined');
      await rt()
        .declineCall(c.callId)
        .catch(() => {});
    },

    async hangup(): Promise<void> {
      const c = live;
      if (!c) return;
      finish(c, 'Call ended');
      if (c.callId)
        await rt()
          .hangupCall(c.callId)
          .catch(() => {});
    },

    /**
     * The socket came back (maybe to another node): take the call back on this device within the
     * server's grace, then restart ICE with fresh ICE servers once the call is answered.
     */
    async resume(): Promise<void> {
      const c = live;
      if (!c?.callId || !c.pc || view.value?.phase === 'incoming') return;
      try {
        const resumed = await rt().resumeCall(c.callId);
        if (live !== c) return;
        c.pc.setConfiguration({ iceServers: resumed.iceServers.map((s) => ({ ...s })) });
        if (resumed.state === 'active' && c.pc.remoteDescription) c.pc.restartIce();
      } catch (err) {
        if (live !== c) return;
        // The call ended while the socket was away (its call.ended went to nobody here).
        if (err instanceof ParleyError && err.status >= 400 && err.status < 500) finish(c, 'Call ended: connection lost');
        else console.error('call resume', err);
      }
    },

    setMuted(muted: boolean): void {
      if (!live?.mic) return;
      for (const t of live.mic.getAudioTracks()) t.enabled = !muted;
      update({ muted });
    },

    async onFrame(f: CallNotice): Promise<void> {
      switch (f.type) {
        case 'call.incoming': {
          // One call at a time: another one keeps ringing on my other devices.
          if (live) return;
          clearTimeout(clearTimer);
          const c = newLive(f.chatId, f.from.userId, f.callId);
          c.offer = f.offer;
          c.iceServers = f.iceServers;
          live = c;
          view.value = {
            callId: f.callId,
            chatId: f.chatId,
            peerId: f.from.userId,
            direction: 'in',
            phase: 'incoming',
            muted: false,
            connectedAt: null,
            outcome: null,
          };
          return;
        }
        case 'call.accepted': {
          const c = isMine(f.callId);
          if (!c?.pc) return;
          update({ phase: 'connecting' });
          await c.pc.setRemoteDescription(f.answer);
          await flushRemoteIce(c);
          negotiateLater(c);
          return;
        }
        case 'call.signal': {
          const c = isMine(f.callId);
          if (!c) return;
          if (f.sdp) await onRemoteSdp(c, f.sdp);
          else if (f.ice !== undefined) await addRemoteIce(c, f.ice);
          return;
        }
        case 'call.state': {
          const c = isMine(f.callId);
          if (c && f.state === 'answered_elsewhere' && view.value?.phase === 'incoming') finish(c, 'Answered on another device');
          return;
        }
        case 'call.ended': {
          const c = isMine(f.callId);
          if (!c) return;
          const words = OUTCOMES[f.reason];
          // A caller who gives up before I answer leaves me a missed call, whatever the reason.
          const ringing = view.value?.phase === 'incoming';
          finish(c, ringing && f.reason !== 'declined' ? 'Missed call' : view.value?.direction === 'in' ? words.in : words.out);
          return;
        }
      }
    },

    close(): void {
      if (live) teardown(live);
      clearTimeout(clearTimer);
    },
  };
}
