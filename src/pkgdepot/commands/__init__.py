"""The ``pkgdepot`` subcommands beyond ``init`` and ``serve``, one module per concern."""
