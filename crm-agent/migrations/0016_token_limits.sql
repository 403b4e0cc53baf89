-- What an API token is limited to beyond its user's permissions, as JSON: `read_only` (only
-- tools that change nothing) and `toolsets` (only tools of these). NULL: no limits, as for
-- every token made before.

ALTER TABLE api_tokens ADD COLUMN limits TEXT;
