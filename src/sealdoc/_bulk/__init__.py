"""Bulk rewrap, rotate and inventory over a store: streaming, resumable, verified.

``engine`` runs a job on a thread pool here, ``dask`` on a cluster;
``document`` does one document, ``checkpoint`` remembers finished ones,
``inventory`` counts what protects what. They work on the store seam
(``sealdoc._store.base.DocumentStore``) and never on a Vault's insides:
the Vault hands over a ``Source`` (its store, keys and naming).
``jobs.run_bulk`` starts a job here or on Dask.

The package itself imports nothing: a Vault that only puts and gets, and
the command line that drives it, load ``options`` and ``report`` alone
(docs/performance.md, "CLI start-up").
"""
