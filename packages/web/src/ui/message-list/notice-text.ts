import type { ChatNotice } from '@parley/sdk';

/**
 * A service line's words, as other messengers put them: "Alice added Carol", "Bob left",
 * "You made Bob an admin", "Alice renamed the group to “Trip”". `name` gives a user's display name.
 */
export function noticeText(n: ChatNotice, name: (userId: string) => string, myId: string | undefined): string {
  const who = (id: string | null, first: boolean) => (id === null ? 'The server' : id === myId ? (first ? 'You' : 'you') : name(id));
  const actor = who(n.actorId, true);
  const member = n.member ? who(n.member.userId, n.member.userId === n.actorId) : '';
  const self = n.member !== undefined && n.member.userId === n.actorId;
  switch (n.type) {
    case 'member.added':
      return self ? `${member} joined` : `${actor} added ${member}`;
    case 'member.removed':
      return self ? `${member} left` : `${actor} removed ${member}`;
    case 'member.updated': {
      const role = n.member?.role;
      if (role === 'owner') return self ? `${member} became the owner` : `${actor} made ${member} the owner`;
      if (role === 'admin') return self ? `${member} became an admin` : `${actor} made ${member} an admin`;
      return self ? `${member} ${member === 'You' ? 'are' : 'is'} no longer an admin` : `${actor} removed ${member} as admin`;
    }
    case 'chat.updated':
      if (n.title !== undefined) return `${actor} renamed the chat to “${n.title}”`;
      return n.avatarFileId === null ? `${actor} removed the chat's picture` : `${actor} changed the chat's picture`;
    case 'call.ended':
      return n.call ? callText(n.call, n.call.callerId === myId) : 'Call';
  }
}

/** A call in the history, as phones list them: "Outgoing call · 1:05", "Missed call". */
function callText(call: NonNullable<ChatNotice['call']>, mine: boolean): string {
  switch (call.outcome) {
    case 'completed': {
      const s = Math.floor((call.durationMs ?? 0) / 1000);
      return `${mine ? 'Outgoing' : 'Incoming'} call · ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    }
    case 'declined':
      return 'Declined call';
    case 'busy':
      return mine ? 'Call not answered: busy' : 'Missed call';
    case 'missed':
      return mine ? 'Unanswered call' : 'Missed call';
  }
}
