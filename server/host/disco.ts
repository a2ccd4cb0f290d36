import type { Element } from '@xmpp/xml';
import type { DiscoIdentity, DiscoItem, DiscoRegistry, DiscoTarget } from '../api/context.js';

/** What disco#info and disco#items answer, collected from every module. */
export class DiscoCollection {
  private readonly featureSets: Record<DiscoTarget, Map<string, number>> = { server: new Map(), account: new Map() };
  private readonly identityLists: Record<DiscoTarget, DiscoIdentity[]> = { server: [], account: [] };
  private readonly extensionLists: Record<DiscoTarget, Element[]> = { server: [], account: [] };
  private readonly itemList: DiscoItem[] = [];

  /** A registry view for one module that records what to undo. */
  forModule(undo: (fn: () => void) => void): DiscoRegistry {
    const self = this;
    return {
      addFeature(feature, target = 'server') {
        const set = self.featureSets[target];
        set.set(feature, (set.get(feature) ?? 0) + 1);
        undo(() => {
          const n = (set.get(feature) ?? 1) - 1;
          if (n <= 0) set.delete(feature); else set.set(feature, n);
        });
      },
      addIdentity(identity, target = 'server') {
        self.identityLists[target].push(identity);
        undo(() => removeItem(self.identityLists[target], identity));
      },
      addItem(item) {
        self.itemList.push(item);
        undo(() => removeItem(self.itemList, item));
      },
      addExtension(form, target = 'server') {
        self.extensionLists[target].push(form);
        undo(() => removeItem(self.extensionLists[target], form));
      },
      features: (t) => self.features(t),
      identities: (t) => self.identityLists[t],
      items: () => self.itemList,
      extensions: (t) => self.extensionLists[t],
    };
  }

  features(target: DiscoTarget): string[] {
    return [...this.featureSets[target].keys()].sort();
  }
}

function removeItem<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
