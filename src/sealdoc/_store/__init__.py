"""The store seam: what the bulk engine and the Vault need of a storage backend.

``base`` declares the interface; one small module per backend implements it
(see docs/storage.md). Private: the public face is :class:`sealdoc.Vault`.
"""
