-- depends: 0009_money_flags
-- A failure no retry can fix (credit exhausted, a revoked key, a model not found) waits for a
-- person: new invocations stop until `agentctl resume` (resumed_at after needs_person_at).
ALTER TABLE agent_admission
    ADD COLUMN needs_person_at TIMESTAMPTZ,
    ADD COLUMN needs_person_reason TEXT;
