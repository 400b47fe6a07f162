-- Searching clients by a part of their name or id with 100,000 clients: a trigram index
-- (FTS5) finds the few that match without reading every row. The triggers keep it in step
-- with the clients table in the statement that changes a client.
CREATE VIRTUAL TABLE clients_search USING fts5(client_id, name, tokenize = 'trigram');

INSERT INTO clients_search (client_id, name) SELECT client_id, name FROM clients;

CREATE TRIGGER clients_search_insert AFTER INSERT ON clients BEGIN
    INSERT INTO clients_search (client_id, name) VALUES (new.client_id, new.name);
END;

CREATE TRIGGER clients_search_rename AFTER UPDATE OF name ON clients BEGIN
    DELETE FROM clients_search WHERE client_id = old.client_id;
    INSERT INTO clients_search (client_id, name) VALUES (new.client_id, new.name);
END;

CREATE TRIGGER clients_search_delete AFTER DELETE ON clients BEGIN
    DELETE FROM clients_search WHERE client_id = old.client_id;
END;
