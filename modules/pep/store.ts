import { elementFromJson, elementToJson, type Element, type JsonNode, type StorageApi } from '../../server/api/index.js';
import type { AccessModel, NodeConfig, PepItem, SendLastPublished } from './service.js';

/** Tables `pep_nodes` and `pep_items` (schema/pep/001_pep.sql). Owners are bare JIDs. */
export interface PepStore {
  node(owner: string, node: string): NodeConfig | undefined;
  nodes(owner: string): { node: string; config: NodeConfig }[];
  nodeCount(owner: string): number;
  createNode(owner: string, node: string, config: NodeConfig): void;
  configure(owner: string, node: string, config: NodeConfig): void;
  /** Deletes the node and its items; returns whether it existed. */
  deleteNode(owner: string, node: string): boolean;
  /** Store an item (replacing one with the same id, which becomes the newest), keep the newest `maxItems`. */
  putItem(owner: string, node: string, item: PepItem, maxItems: number): void;
  /** Removes the items and returns the ids that existed. */
  removeItems(owner: string, node: string, ids: readonly string[]): string[];
  purge(owner: string, node: string): void;
  /** The newest `limit` items, oldest first. */
  items(owner: string, node: string, limit?: number): PepItem[];
  itemsById(owner: string, node: string, ids: readonly string[]): PepItem[];
  removeOwner(owner: string): void;
  /** Run several changes as one. */
  transaction<T>(fn: () => T): T;
}

interface NodeRow {
  node: string; access_model: string; max_items: number; persist_items: number; send_last: string;
  notify_retract: number; notify_delete: number; title: string;
}
interface ItemRow { item_id: string; payload: string; publisher: string; published_at: number }

const toConfig = (r: NodeRow): NodeConfig => ({
  accessModel: r.access_model as AccessModel,
  maxItems: r.max_items,
  persistItems: r.persist_items === 1,
  sendLastPublishedItem: r.send_last as SendLastPublished,
  notifyRetract: r.notify_retract === 1,
  notifyDelete: r.notify_delete === 1,
  title: r.title,
});

const toItem = (r: ItemRow): PepItem => ({
  id: r.item_id,
  payload: elementFromJson(JSON.parse(r.payload) as JsonNode) as Element,
  publisher: r.publisher,
  publishedAt: new Date(r.published_at),
});

export function openPepStore(storage: StorageApi): PepStore {
  const db = storage.db;
  const nodeCols = 'node, access_model, max_items, persist_items, send_last, notify_retract, notify_delete, title';
  const selectNode = db.prepare(`SELECT ${nodeCols} FROM pep_nodes WHERE owner = ? AND node = ?`);
  const selectNodes = db.prepare(`SELECT ${nodeCols} FROM pep_nodes WHERE owner = ? ORDER BY node`);
  const countNodes = db.prepare('SELECT COUNT(*) AS n FROM pep_nodes WHERE owner = ?');
  const insertNode = db.prepare(`INSERT INTO pep_nodes (owner, ${nodeCols}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const updateNode = db.prepare(`UPDATE pep_nodes SET access_model = ?, max_items = ?, persist_items = ?, send_last = ?,
    notify_retract = ?, notify_delete = ?, title = ? WHERE owner = ? AND node = ?`);
  const removeNode = db.prepare('DELETE FROM pep_nodes WHERE owner = ? AND node = ?');
  const removeNodeItems = db.prepare('DELETE FROM pep_items WHERE owner = ? AND node = ?');
  const nextSeq = db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS seq FROM pep_items');
  const upsertItem = db.prepare(`INSERT INTO pep_items (owner, node, item_id, payload, publisher, seq, published_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (owner, node, item_id) DO UPDATE SET payload = excluded.payload, publisher = excluded.publisher,
      seq = excluded.seq, published_at = excluded.published_at`);
  const trim = db.prepare(`DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id NOT IN
    (SELECT item_id FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT ?)`);
  const removeItem = db.prepare('DELETE FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?');
  const newest = db.prepare(`SELECT item_id, payload, publisher, published_at FROM
    (SELECT * FROM pep_items WHERE owner = ? AND node = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq ASC`);
  const byId = db.prepare('SELECT item_id, payload, publisher, published_at, seq FROM pep_items WHERE owner = ? AND node = ? AND item_id = ?');
  const removeOwnerNodes = db.prepare('DELETE FROM pep_nodes WHERE owner = ?');
  const removeOwnerItems = db.prepare('DELETE FROM pep_items WHERE owner = ?');
  const configValues = (c: NodeConfig) => [c.accessModel, c.maxItems, c.persistItems ? 1 : 0, c.sendLastPublishedItem,
    c.notifyRetract ? 1 : 0, c.notifyDelete ? 1 : 0, c.title] as const;

  const store: PepStore = {
    node: (owner, node) => {
      const row = selectNode.get(owner, node) as NodeRow | undefined;
      return row ? toConfig(row) : undefined;
    },
    nodes: (owner) => (selectNodes.all(owner) as NodeRow[]).map((r) => ({ node: r.node, config: toConfig(r) })),
    nodeCount: (owner) => (countNodes.get(owner) as { n: number }).n,
    createNode: (owner, node, c) => { insertNode.run(owner, node, ...configValues(c), Date.now()); },
    configure: (owner, node, c) => { updateNode.run(...configValues(c), owner, node); },
    deleteNode: (owner, node) => store.transaction(() => {
      removeNodeItems.run(owner, node);
      return removeNode.run(owner, node).changes > 0;
    }),
    putItem: (owner, node, item, maxItems) => store.transaction(() => {
      const { seq } = nextSeq.get() as { seq: number };
      upsertItem.run(owner, node, item.id, JSON.stringify(elementToJson(item.payload)), item.publisher, seq, item.publishedAt.getTime());
      trim.run(owner, node, owner, node, maxItems);
    }),
    removeItems: (owner, node, ids) => store.transaction(() => ids.filter((id) => removeItem.run(owner, node, id).changes > 0)),
    purge: (owner, node) => { removeNodeItems.run(owner, node); },
    items: (owner, node, limit = -1) => (newest.all(owner, node, limit) as ItemRow[]).map(toItem),
    itemsById: (owner, node, ids) => ids
      .map((id) => byId.get(owner, node, id) as (ItemRow & { seq: number }) | undefined)
      .filter((r) => r !== undefined)
      .sort((a, b) => a.seq - b.seq)
      .map(toItem),
    removeOwner: (owner) => store.transaction(() => { removeOwnerItems.run(owner); removeOwnerNodes.run(owner); }),
    transaction: <T>(fn: () => T): T => db.transaction(fn)(),
  };
  return store;
}
