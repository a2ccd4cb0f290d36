-- Who sees a record in their history (MAM), as bits instead of JSON: 1 = the sender, 2 = the
-- addressee. The writer stores it with the record (durable before delivery, like the record);
-- the derived tables (participants, full text) move to a file of their own
-- (schema/archive/index/, filled by the indexer thread; see modules/archive/derived.ts), so that
-- indexing never holds the lock that the writer's appends need.
ALTER TABLE records ADD COLUMN seen_by INTEGER NOT NULL DEFAULT 0;
UPDATE records SET seen_by =
    (CASE WHEN EXISTS (SELECT 1 FROM json_each(records.views) v WHERE v.value ->> 0 = records.sender_bare) THEN 1 ELSE 0 END)
  | (CASE WHEN EXISTS (SELECT 1 FROM json_each(records.views) v WHERE v.value ->> 0 = records.recipient_bare) THEN 2 ELSE 0 END)
  WHERE views <> '' AND seq > (SELECT value FROM archive_state WHERE key = 'indexed_upto');
