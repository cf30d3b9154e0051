//! `shopsync audit`: queries over the audit store, rendered as tables or JSON.
