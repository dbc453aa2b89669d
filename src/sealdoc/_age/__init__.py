"""age (age-encryption.org/v1, C2SP): keys, and files the age tools open.

``bech32`` and ``keys`` give age's key strings; ``header``, ``stanzas``,
``payload`` and ``armor`` are the file format; ``files`` writes and reads
whole age files over streams. Nothing here imports the sealdoc format.
"""
