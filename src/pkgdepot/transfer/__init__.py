"""Moving a server's data in and out: pkgdepot's export format and devpi-server's exports."""
