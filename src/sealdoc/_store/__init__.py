"""The store seam: what the bulk engine and the Vault need of a storage backend.

``base`` declares the interface; one small module per backend implements it
(``local``, ``memory``, ``s3``, ``generic`` for any other fsspec store), and
``factory.store_for(fs, root)`` picks one (see docs/storage.md). Private: the
public face is :class:`sealdoc.Vault` (``Vault.store``). Nothing is imported
here, so that ``_storage`` can use ``local`` without an import cycle.
"""
