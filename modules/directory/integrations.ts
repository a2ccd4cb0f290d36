import type { ModuleContext } from '../../server/api/index.js';
import type { SharedGroupsHandle } from '../roster/service.js';
import { sharedRosterSource } from './shared-rosters.js';
import type { SyncListeners, Synchroniser } from './sync.js';
import type { DirectoryVCards } from './vcard.js';

/**
 * The optional modules the directory feeds: the roster service (shared groups) and the vcard
 * service (directory vCards). They may load after this module, so they are looked for at start and
 * again before every sync; what was attached is detached when the server stops.
 */
export class Integrations implements SyncListeners {
  roster: SharedGroupsHandle | null = null;
  private sync: Synchroniser | null = null;
  private vcards: DirectoryVCards | null = null;
  private vcardAttached = false;
  private readonly undo: (() => void)[] = [];

  constructor(private readonly ctx: Pick<ModuleContext, 'services'>, private readonly domains: readonly string[]) {}

  connect(sync: Synchroniser, vcards: DirectoryVCards): void {
    this.sync = sync;
    this.vcards = vcards;
    this.attach();
  }

  attach(): void {
    if (!this.sync || !this.vcards) return;
    const roster = this.ctx.services.find('roster');
    if (roster && !this.roster) {
      const handle = roster.addSharedGroupSource(sharedRosterSource(this.sync));
      this.roster = handle;
      this.undo.push(() => handle.remove());
    }
    const vcard = this.ctx.services.find('vcard');
    if (vcard && !this.vcardAttached) {
      this.vcardAttached = true;
      this.undo.push(vcard.addSource(this.vcards));
    }
  }

  /** A person's entry changed: cached vCards go, and the vcard module recomputes the avatar hash. */
  personChanged(local: string): void {
    for (const domain of this.domains) {
      this.vcards?.invalidate(`${local}@${domain}`);
      void this.ctx.services.find('vcard')?.refresh(`${local}@${domain}`);
    }
  }

  detach(): void {
    for (const undo of this.undo.splice(0).reverse()) undo();
    this.roster = null;
  }
}
