ALTER TABLE lab_operations DROP COLUMN IF EXISTS node_id;
