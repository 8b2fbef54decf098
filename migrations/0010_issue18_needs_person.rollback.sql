ALTER TABLE agent_admission
    DROP COLUMN IF EXISTS needs_person_reason,
    DROP COLUMN IF EXISTS needs_person_at;
