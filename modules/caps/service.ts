import type { Session } from '../../server/api/index.js';

/**
 * The `caps` service (XEP-0115 on the receiving side): what each client session can do, learned
 * from the `<c/>` element in its presence and resolved with one disco#info query per new
 * verification string. PEP uses it for "+notify" filtering (XEP-0163 section 4.3).
 */
export interface CapsService {
  /**
   * The features a session announced and the server resolved; undefined while the answer is
   * pending, when the session sent no caps, or when its client did not answer.
   */
  featuresOf(session: Session): ReadonlySet<string> | undefined;
}

declare module '../../server/api/index.js' {
  interface ParleyServices {
    caps: CapsService;
  }
  interface ParleyEvents {
    /**
     * A session's resolved features are known for the first time or changed (a new `ver` in its
     * presence). An empty set means the session stopped sending caps.
     */
    'caps/changed': { session: Session; features: ReadonlySet<string> };
  }
}
