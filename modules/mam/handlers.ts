import { StanzaError, xml, type IqEvent, type IqHandler, type ModuleContext } from '../../server/api/index.js';
import type { ArchiveService, HistoryPage } from '../archive/service.js';
import { MAM, stamp } from './protocol.js';
import { parsePrefs, prefsElement, type ArchivePreferences } from './prefs.js';
import { parseQuery, queryForm } from './query.js';
import { archivedMessage, finElement, resultMessage } from './results.js';

type Ctx = Pick<ModuleContext, 'router' | 'log'>;

/** XEP-0313 section 8.1: a user's archive is theirs alone; anyone else is refused with forbidden. */
function ownArchive(iq: IqEvent): string {
  if (iq.from.bare !== iq.to.bare) throw new StanzaError('forbidden', 'Only the account itself may use its message archive');
  return iq.to.bare;
}

/** The archive's "unknown id" without importing its class (modules share types only): matched by name. */
function isUnknownId(err: unknown): err is Error & { id: string } {
  return err instanceof Error && (err.name === 'HistoryIdNotFound' || err.constructor.name === 'HistoryIdNotFound');
}

/**
 * XEP-0313 section 4: run a query on the owner's history, push each result to the requesting
 * session, and answer with `<fin/>`. The only wait is for the archive's index before the query;
 * from the page on nothing awaits, so the results are written before the IQ result.
 */
export function queryArchive(ctx: Ctx, archive: ArchiveService, maxPage: number): IqHandler {
  return async (iq) => {
    const owner = ownArchive(iq);
    const session = iq.origin;
    if (!session) throw new StanzaError('not-allowed', 'Archive results go to a client session');
    const { history, queryId, flip } = parseQuery(iq.payload, owner, maxPage);
    let page: HistoryPage;
    try {
      page = await archive.history(history);
    } catch (err) {
      // XEP-0313 4.1.3 and 4.3.2: an id of the form or of RSM that is not in the archive.
      if (isUnknownId(err)) throw new StanzaError('item-not-found', `No message with id '${err.id}' in your archive`);
      throw err;
    }
    const items = flip ? [...page.items].reverse() : page.items;
    for (const item of items) {
      const message = archivedMessage(item, owner);
      if (!message) ctx.log.warn({ archiveId: item.id, stanzaId: iq.id }, 'an archived message could not be read; sent without its content');
      if (!ctx.router.deliver(session, resultMessage(item, owner, session.jid.full, queryId, message))) break;
    }
    return finElement(page);
  };
}

/** XEP-0313 4.1.5: the query form. */
export const queryFormHandler: IqHandler = (iq) => {
  ownArchive(iq);
  return queryForm();
};

/** XEP-0313 section 5 (#extended): the ids and times of the first and last message; empty for an empty archive. */
export function archiveMetadata(archive: ArchiveService): IqHandler {
  return async (iq) => {
    const bounds = await archive.historyBounds(ownArchive(iq));
    const metadata = xml('metadata', { xmlns: MAM });
    if (bounds) {
      metadata.append(xml('start', { id: bounds.first.id, timestamp: stamp(bounds.first.ts) }));
      metadata.append(xml('end', { id: bounds.last.id, timestamp: stamp(bounds.last.ts) }));
    }
    return metadata;
  };
}

/** XEP-0441 section 2.1: the owner's preferences. */
export function getPreferences(prefs: ArchivePreferences): IqHandler {
  return (iq) => prefsElement(prefs.get(ownArchive(iq)));
}

/** XEP-0441 section 2.1: replace the owner's preferences; the answer is what applies now. They affect messages from now on. */
export function setPreferences(prefs: ArchivePreferences, rosters: () => boolean): IqHandler {
  return (iq) => {
    const owner = ownArchive(iq);
    prefs.set(owner, parsePrefs(iq.payload, rosters()));
    return prefsElement(prefs.get(owner));
  };
}
