-- The audit log's filters: events about an API, by actor, by event type, by time.

-- The API of the catalogue an event is about. Events recorded before this column existed name
-- the API in their detail ("api api_… …"); it is read from there.
ALTER TABLE audit_events ADD COLUMN api_id TEXT NULL;
UPDATE audit_events
   SET api_id = rtrim(substr(detail, 5, instr(substr(detail, 5) || ' ', ' ') - 1), ':')
 WHERE action IN ('api.created', 'api.updated', 'api.deleted', 'permission.added',
                  'permission.removed')
   AND detail LIKE 'api api\_%' ESCAPE '\';

-- Each filter reads its index in id order, as pages are read.
CREATE INDEX audit_events_api ON audit_events (api_id, id) WHERE api_id IS NOT NULL;
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_action ON audit_events (action, id);
CREATE INDEX audit_events_at ON audit_events (at);
