/**
 * The signals `createModel` pattern (`new Model(args)` builds a model: its signals and the
 * functions that change them) without the library's version, which wraps every function in an
 * untracked batch (so a name looked up while rendering would not re-render when it arrives) and
 * adds a third of a kilobyte to the page.
 */
export function createModel<Args extends unknown[], M extends object>(factory: (...args: Args) => M): new (...args: Args) => M {
  // A plain function: `new` on it returns the object the factory built.
  return function Model(...args: Args) {
    return factory(...args);
  } as unknown as new (...args: Args) => M;
}
