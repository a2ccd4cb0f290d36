import type { AccountProvider } from '../api/context.js';
import type { SessionKind } from '../api/session.js';
import type { SaslBackend } from './mechanism.js';

/**
 * The providers of accounts, asked in order: those added by modules (the directory, bots) first,
 * then the local SCRAM accounts. Per domain, only providers that serve it are asked.
 */
export class AuthChain {
  private readonly added: AccountProvider[] = [];

  constructor(private readonly local: AccountProvider) {}

  add(p: AccountProvider): () => void {
    this.added.push(p);
    return () => { const i = this.added.indexOf(p); if (i >= 0) this.added.splice(i, 1); };
  }

  private serving(domain: string): AccountProvider[] {
    const out = this.added.filter((p) => !p.domains || p.domains.includes(domain));
    out.push(this.local);
    return out;
  }

  async exists(local: string, domain: string): Promise<boolean> {
    for (const p of this.serving(domain)) if (await p.exists(local, domain)) return true;
    return false;
  }

  /**
   * A provider that checks passwords but keeps no SCRAM credentials (an LDAP bind) needs the
   * password itself, so its domains offer PLAIN only (and PLAIN is only ever offered over TLS).
   */
  plainOnly(domain: string): boolean {
    return this.serving(domain).some((p) => p.verifyPassword && !p.scramCredentials);
  }

  saslBackend(domain: string): SaslBackend {
    const providers = this.serving(domain);
    return {
      async scramCredentials(username, hash) {
        for (const p of providers) {
          const creds = await p.scramCredentials?.(username, domain, hash);
          if (creds) return creds;
        }
        return null;
      },
      async verifyPassword(username, password) {
        for (const p of providers) {
          if (!p.verifyPassword) continue;
          const answer = await p.verifyPassword(username, domain, password);
          if (answer !== 'unknown') return answer === 'ok';
        }
        return false;
      },
    };
  }

  async canonicalLocal(login: string, domain: string): Promise<string> {
    for (const p of this.serving(domain)) {
      const local = await p.canonicalLocal?.(login, domain);
      if (local) return local;
    }
    return login;
  }

  async loginRefusal(local: string, domain: string): Promise<string | null> {
    for (const p of this.serving(domain)) {
      const refusal = await p.loginRefusal?.(local, domain);
      if (refusal) return refusal;
    }
    return null;
  }

  async sessionKind(local: string, domain: string): Promise<SessionKind> {
    for (const p of this.serving(domain)) {
      const kind = await p.sessionKind?.(local, domain);
      if (kind) return kind;
    }
    return 'employee';
  }
}
