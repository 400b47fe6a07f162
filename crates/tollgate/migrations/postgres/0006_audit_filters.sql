-- The audit log's filters. Mirrors migrations/sqlite/0006_audit_filters.sql.

ALTER TABLE audit_events ADD COLUMN api_id TEXT COLLATE "C" NULL;
UPDATE audit_events
   SET api_id = rtrim(split_part(detail, ' ', 2), ':')
 WHERE action IN ('api.created', 'api.updated', 'api.deleted', 'permission.added',
                  'permission.removed')
   AND detail LIKE 'api api\_%' ESCAPE '\';

CREATE INDEX audit_events_api ON audit_events (api_id, id) WHERE api_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);
