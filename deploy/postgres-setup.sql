-- Run as the PostgreSQL superuser: a role and a database for wysiwys.
-- The server runs its migrations itself on start.
CREATE ROLE wysiwys LOGIN PASSWORD 'change-me';
CREATE DATABASE wysiwys OWNER wysiwys;
