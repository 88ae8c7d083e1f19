"""GOST cryptography of the GIS client: backends, GOST R 34.11-94, XAdES signing and signers."""
