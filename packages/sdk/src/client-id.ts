let counter = 0;

/** An id for a request frame or a message, unique in this process even where randomUUID is missing. */
export function newClientId(): string {
  const random = globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${random.replace(/[^A-Za-z0-9_-]/g, '')}${(counter++).toString(36)}`;
}
