//! Store exports: CSV and SQLite query sources → validated Store rows + rejects.
