import type { AccountHooks } from './accounts/hooks.ts';
import type { PresenceTracker } from './presence/presence.ts';
import type { PushService } from './push/push-service.ts';
import type { Services } from './services.ts';

/** Everything the HTTP layer, the gateway and jobs share, wired once from config (see context.ts). */
export interface AppContext extends Services {
  hooks: AccountHooks;
  presence: PresenceTracker;
  /** Web push for new messages (docs/push.md) */
  push: PushService;
  nodeId: string;
  close(): Promise<void>;
}
