/**
 * Loads an adapter subpath's implementation, which imports its ORM, an optional peer dependency. A static import
 * of a missing peer fails while the module graph links, with Node's bare ERR_MODULE_NOT_FOUND; loading the
 * implementation dynamically lets the entry point say which package to install instead.
 */
export async function loadWithPeers<T>(subpath: string, peers: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPeer(error, peers);
    if (missing === undefined) throw error;
    // Node's code is kept, so code that already checks for it still does; the message names what to install.
    throw Object.assign(
      new Error(`${subpath} needs the package "${missing}", which is not installed where litefs-forward can import it. Install it beside litefs-forward: npm install ${missing}`, {
        cause: error,
      }),
      { code: 'ERR_MODULE_NOT_FOUND', packageName: missing },
    );
  }
}

/** The peer that `error` reports missing ("Cannot find package 'kysely' imported from ..."), if it is one of `peers`. */
export function missingPeer(error: unknown, peers: readonly string[]): string | undefined {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND' || !(error instanceof Error)) return undefined;
  const specifier = /Cannot find (?:package|module) '([^']+)'/.exec(error.message)?.[1];
  if (specifier === undefined) return undefined;
  return peers.find((peer) => specifier === peer || specifier.startsWith(`${peer}/`));
}
