-- depends: 0012_issue19b_cycle_sort_indexes
-- Where an operation ran on a Ray cluster: the id of the node its worker ran on, written
-- by the worker as it claims the row (NULL for local operations: their host says it).
ALTER TABLE lab_operations ADD COLUMN node_id TEXT;
