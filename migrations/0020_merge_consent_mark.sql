-- The last consent event recorded when a merge was made: undoing another merge replays the
-- merges still in force among the consent history by it (events in one millisecond with the
-- merge, as an import batch writes them, fall on the right side). NULL for merges made before.
ALTER TABLE customer_merges ADD COLUMN consent_mark BIGINT;
