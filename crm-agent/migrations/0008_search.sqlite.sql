-- Substring search on SQLite: an FTS5 trigram index per searchable table, over exactly the
-- columns its `search` filter matches (`TextSearch` in store/sql/entities.rs).
--
-- `search` means "any of these columns contains the text, ignoring case". Without an index
-- that is a LIKE '%text%' over every row in scope; a trigram index finds the rows holding
-- the text's three-character sequences instead, and its phrase query matches the exact
-- substring, case-folded (Unicode-aware, where LIKE folds ASCII only). Texts shorter than
-- three characters have no trigram and still use LIKE.
--
-- The indexes are external-content tables keyed by the base table's rowid: the text is not
-- stored twice, and triggers keep them in the writing transaction. (`rebuild` re-reads the
-- base table; run it if the index is ever in doubt, e.g. after a tool rewrote rowids.)

CREATE VIRTUAL TABLE customers_search USING fts5(name, company_name, email, phone, content='customers', tokenize='trigram');
INSERT INTO customers_search(customers_search) VALUES ('rebuild');
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_search(rowid, name, company_name, email, phone) VALUES (new.rowid, new.name, new.company_name, new.email, new.phone);
END;
CREATE TRIGGER customers_search_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_search(customers_search, rowid, name, company_name, email, phone) VALUES ('delete', old.rowid, old.name, old.company_name, old.email, old.phone);
END;
CREATE TRIGGER customers_search_update AFTER UPDATE OF name, company_name, email, phone ON customers BEGIN
    INSERT INTO customers_search(customers_search, rowid, name, company_name, email, phone) VALUES ('delete', old.rowid, old.name, old.company_name, old.email, old.phone);
    INSERT INTO customers_search(rowid, name, company_name, email, phone) VALUES (new.rowid, new.name, new.company_name, new.email, new.phone);
END;

CREATE VIRTUAL TABLE leads_search USING fts5(name, email, company, content='leads', tokenize='trigram');
INSERT INTO leads_search(leads_search) VALUES ('rebuild');
CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_search(rowid, name, email, company) VALUES (new.rowid, new.name, new.email, new.company);
END;
CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_search(leads_search, rowid, name, email, company) VALUES ('delete', old.rowid, old.name, old.email, old.company);
END;
CREATE TRIGGER leads_search_update AFTER UPDATE OF name, email, company ON leads BEGIN
    INSERT INTO leads_search(leads_search, rowid, name, email, company) VALUES ('delete', old.rowid, old.name, old.email, old.company);
    INSERT INTO leads_search(rowid, name, email, company) VALUES (new.rowid, new.name, new.email, new.company);
END;

CREATE VIRTUAL TABLE deals_search USING fts5(title, notes, content='deals', tokenize='trigram');
INSERT INTO deals_search(deals_search) VALUES ('rebuild');
CREATE TRIGGER deals_search_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deals_search(rowid, title, notes) VALUES (new.rowid, new.title, new.notes);
END;
CREATE TRIGGER deals_search_delete AFTER DELETE ON deals BEGIN
    INSERT INTO deals_search(deals_search, rowid, title, notes) VALUES ('delete', old.rowid, old.title, old.notes);
END;
CREATE TRIGGER deals_search_update AFTER UPDATE OF title, notes ON deals BEGIN
    INSERT INTO deals_search(deals_search, rowid, title, notes) VALUES ('delete', old.rowid, old.title, old.notes);
    INSERT INTO deals_search(rowid, title, notes) VALUES (new.rowid, new.title, new.notes);
END;

CREATE VIRTUAL TABLE issues_search USING fts5(number, title, description, content='issues', tokenize='trigram');
INSERT INTO issues_search(issues_search) VALUES ('rebuild');
CREATE TRIGGER issues_search_insert AFTER INSERT ON issues BEGIN
    INSERT INTO issues_search(rowid, number, title, description) VALUES (new.rowid, new.number, new.title, new.description);
END;
CREATE TRIGGER issues_search_delete AFTER DELETE ON issues BEGIN
    INSERT INTO issues_search(issues_search, rowid, number, title, description) VALUES ('delete', old.rowid, old.number, old.title, old.description);
END;
CREATE TRIGGER issues_search_update AFTER UPDATE OF number, title, description ON issues BEGIN
    INSERT INTO issues_search(issues_search, rowid, number, title, description) VALUES ('delete', old.rowid, old.number, old.title, old.description);
    INSERT INTO issues_search(rowid, number, title, description) VALUES (new.rowid, new.number, new.title, new.description);
END;

CREATE VIRTUAL TABLE orders_search USING fts5(number, notes, content='orders', tokenize='trigram');
INSERT INTO orders_search(orders_search) VALUES ('rebuild');
CREATE TRIGGER orders_search_insert AFTER INSERT ON orders BEGIN
    INSERT INTO orders_search(rowid, number, notes) VALUES (new.rowid, new.number, new.notes);
END;
CREATE TRIGGER orders_search_delete AFTER DELETE ON orders BEGIN
    INSERT INTO orders_search(orders_search, rowid, number, notes) VALUES ('delete', old.rowid, old.number, old.notes);
END;
CREATE TRIGGER orders_search_update AFTER UPDATE OF number, notes ON orders BEGIN
    INSERT INTO orders_search(orders_search, rowid, number, notes) VALUES ('delete', old.rowid, old.number, old.notes);
    INSERT INTO orders_search(rowid, number, notes) VALUES (new.rowid, new.number, new.notes);
END;

CREATE VIRTUAL TABLE activities_search USING fts5(title, description, content='activities', tokenize='trigram');
INSERT INTO activities_search(activities_search) VALUES ('rebuild');
CREATE TRIGGER activities_search_insert AFTER INSERT ON activities BEGIN
    INSERT INTO activities_search(rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
CREATE TRIGGER activities_search_delete AFTER DELETE ON activities BEGIN
    INSERT INTO activities_search(activities_search, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;
CREATE TRIGGER activities_search_update AFTER UPDATE OF title, description ON activities BEGIN
    INSERT INTO activities_search(activities_search, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO activities_search(rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

CREATE VIRTUAL TABLE employees_search USING fts5(first_name, last_name, email, job_title, content='employees', tokenize='trigram');
INSERT INTO employees_search(employees_search) VALUES ('rebuild');
CREATE TRIGGER employees_search_insert AFTER INSERT ON employees BEGIN
    INSERT INTO employees_search(rowid, first_name, last_name, email, job_title) VALUES (new.rowid, new.first_name, new.last_name, new.email, new.job_title);
END;
CREATE TRIGGER employees_search_delete AFTER DELETE ON employees BEGIN
    INSERT INTO employees_search(employees_search, rowid, first_name, last_name, email, job_title) VALUES ('delete', old.rowid, old.first_name, old.last_name, old.email, old.job_title);
END;
CREATE TRIGGER employees_search_update AFTER UPDATE OF first_name, last_name, email, job_title ON employees BEGIN
    INSERT INTO employees_search(employees_search, rowid, first_name, last_name, email, job_title) VALUES ('delete', old.rowid, old.first_name, old.last_name, old.email, old.job_title);
    INSERT INTO employees_search(rowid, first_name, last_name, email, job_title) VALUES (new.rowid, new.first_name, new.last_name, new.email, new.job_title);
END;
