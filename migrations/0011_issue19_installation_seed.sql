-- depends: 0010_issue18_needs_person
-- One seed per installation for the offline baseline's search, drawn once here, so two
-- installations do not try the same strategies in the same order. AGENTCTL_BASELINE_SEED
-- still pins it (then this row is not read).
CREATE TABLE agent_installation (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    baseline_seed BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
INSERT INTO agent_installation (baseline_seed) VALUES (floor(random() * 2147483647)::bigint);
