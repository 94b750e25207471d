export interface Departed {
  userId: string;
  /** when the dead node last vouched for the user */
  lastSeenAt: number;
}

/**
 * Who is online anywhere in the cluster: each node vouches for the users it holds sockets of, and
 * the users of a node that stops vouching are reaped by exactly one other node.
 */
export interface PresenceDirectory {
  /** Vouches for these users for another TTL; returns those the directory had forgotten. */
  vouch(userIds: string[], now: number): Promise<string[]>;
  /** This node no longer holds the user; resolves to whether another node still does. */
  withdraw(userId: string, now: number): Promise<boolean>;
  /** Of these users, those some live node vouches for. */
  online(userIds: string[], now: number): Promise<Set<string>>;
  /** Users no node vouches for any more, each reported to one caller only. */
  reap(now: number): Promise<Departed[]>;
  /** Withdraws every user this node vouched for; returns those now offline. */
  withdrawAll(userIds: string[], now: number): Promise<string[]>;
}
