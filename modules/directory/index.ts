import { defineModule } from '../../server/api/index.js';
import { directoryConfig } from './config.js';
import { DirectoryConnections, DirectoryHealth } from './connection.js';
import { directoryService } from './directory-service.js';
import { Integrations } from './integrations.js';
import { DirectoryLookups } from './lookups.js';
import { PersonMapper } from './people.js';
import { DirectoryAccounts } from './provider.js';
import { DirectorySearch, NS_SEARCH } from './search.js';
import { connectionSettings } from './settings.js';
import { openAccountStore } from './store.js';
import { Synchroniser } from './sync.js';
import { DirectoryVCards } from './vcard.js';

export default defineModule({
  name: 'directory',
  description: 'The company directory (LDAP): directory passwords and identities, vCards, department rosters, search, deprovisioning.',
  provides: ['directory'],
  xeps: [{ xep: 55, version: '1.3', status: 'complete', note: 'data forms (XEP-0004) and the legacy fields, answered by the server domain; refused to partner accounts' }],
  config: directoryConfig,
  async setup(ctx) {
    const config = ctx.config;
    const domains = config.domains ?? ctx.accounts.domains;
    for (const d of domains) {
      if (!ctx.accounts.isLocalDomain(d)) throw new Error(`modules.directory.domains: "${d}" is not one of the server's domains (${ctx.accounts.domains.join(', ')})`);
    }
    const connections = new DirectoryConnections(connectionSettings(config), new DirectoryHealth(ctx.log));
    const mapper = new PersonMapper(config, domains[0]!);
    const lookups = new DirectoryLookups(connections, config, mapper);
    const store = openAccountStore(ctx);
    const integrations = new Integrations(ctx, domains);
    const sync = new Synchroniser(ctx, config, domains, lookups, mapper, store, integrations);
    // Shared rosters through the roster service, vCards through the vcard service, when loaded.
    integrations.connect(sync, new DirectoryVCards(sync, lookups, mapper, config.vcard_ttl));

    // Logins: passwords checked by binding, PLAIN only on the served domains (auth chain).
    ctx.auth.addProvider(new DirectoryAccounts(ctx, config, domains, connections, lookups, mapper, store, sync));
    ctx.services.provide('directory', directoryService(sync, store, domains, ctx.log));

    if (config.search.enabled) {
      const search = new DirectorySearch(sync, config.search.max_results);
      ctx.disco.addFeature(NS_SEARCH);
      ctx.disco.addIdentity({ category: 'directory', type: 'user', name: 'Company directory' });
      ctx.iq.handle({ type: 'get', xmlns: NS_SEARCH, name: 'query', to: 'server' }, search.form);
      ctx.iq.handle({ type: 'set', xmlns: NS_SEARCH, name: 'query', to: 'server' }, search.submit);
    }

    ctx.events.on('server/stopping', async () => {
      integrations.detach();
      await connections.close();
    });

    // The first sync before clients come. An unreachable directory is logged and does not stop the
    // server: the addresses known from earlier runs still work.
    await sync.sync();
    if (config.sync_interval > 0) ctx.timers.every(config.sync_interval, async () => { await sync.sync(); });
  },
});
