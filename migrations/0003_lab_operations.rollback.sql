DROP TABLE IF EXISTS lab_operations;
