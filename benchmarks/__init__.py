"""The side-by-side benchmark of pkgdepot and its peers: ``benchmarks/run`` (see README.md)."""
