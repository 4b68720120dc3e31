-- Secrets every replica of the hub shares (the Results API's cursor MAC key): each is created
-- once, by whichever replica asks first, and never leaves the server.
CREATE TABLE hub_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
