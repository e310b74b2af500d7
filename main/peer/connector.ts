import type { Logger } from '../log.js';
import type { Channel } from './channel.js';
import type { Target, Timing } from './context.js';
import type { DeskBook } from './deskBook.js';
import { connectDesk, LinkRefused, type LinkIdentity, type RefusalKind } from './deskLink.js';
import { printable } from './discovery.js';

/** How long an address that answered without the right key is left alone. */
const DISTRUST_MS = 10 * 60_000;

export interface ConnectorOptions {
  me: LinkIdentity;
  timing: Timing;
  book: DeskBook;
  log: Logger;
  /** A desk this one knows refused its key as an old one: the calendar's key was changed. */
  onKeyChanged(): void;
}

/**
 * This desk's way to other desks, and its memory of who failed it. Refusals are reported once per
 * address and kind. An address that answered for a desk without its key, or without the calendar's
 * key, is not asked again for a while, whatever ids it announces: a stranger flooding the LAN with
 * made-up desks costs one connection, not one each.
 */
export function createConnector(options: ConnectorOptions) {
  const { me, timing, book, log } = options;
  const reported = new Set<string>();
  const distrusted = new Map<string, number>();
  const trusted = (address: string) => (distrusted.get(address) ?? 0) < Date.now();

  const refused = (kind: RefusalKind, who: string | null | undefined, address: string, message?: string) => {
    if (kind === 'proof' || kind === 'pin') distrusted.set(address, Date.now() + DISTRUST_MS);
    if (kind === 'key-changed' && who && book.get(who)) options.onKeyChanged();
    const key = `${kind}:${address}`;
    if (reported.has(key) || kind === 'unreachable' || kind === 'timeout') return;
    reported.add(key);
    log.warn(`ignoring the desk at ${printable(address, 60)}${who ? ` (desk ${who.slice(0, 8)})` : ''}: ${printable(message ?? kind, 200)}`);
  };

  /** A proven channel to the first address of `target` that answers, or null. */
  const connect = async (target: Target, timeoutMs = timing.handshakeMs): Promise<Channel | null> => {
    const attempts = target.addresses
      .filter(trusted)
      .slice(0, 4)
      .map((address) =>
        connectDesk({ address, port: target.deskPort, deskId: target.deskId }, me, { ...timing, handshakeMs: timeoutMs }, log).catch((err) => {
          if (err instanceof LinkRefused) refused(err.kind, err.deskId ?? target.deskId, address, err.message);
          throw err;
        }),
      );
    const first = await Promise.any(attempts).catch(() => null);
    // The others that got through as well are not needed.
    for (const attempt of attempts) void attempt.then((c) => c !== first && c.close('another address answered first'), () => undefined);
    if (first) book.note([{ deskId: first.peer.deskId, name: first.peer.name, addresses: [first.remoteAddress, ...first.peer.addresses], deskPort: first.peer.deskPort }]);
    return first;
  };

  return { connect, refused, trusted };
}
