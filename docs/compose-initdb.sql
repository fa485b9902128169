-- docker-compose.yml: the databases of the servers that keep their events
-- in KurrentDB (their read models, dense index and tree), beside the
-- default server's "civic".
CREATE DATABASE civic_kurrent OWNER civic;
CREATE DATABASE civic_cluster OWNER civic;
