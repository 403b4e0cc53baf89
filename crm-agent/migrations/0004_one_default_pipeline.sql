-- At most one default pipeline per organization, even when two provisioners race.
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (organization_id) WHERE is_default;
