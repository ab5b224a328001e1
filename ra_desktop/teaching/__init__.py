"""Teaching RA radiology on phantoms whose every lesion is known: the marker explorer and the
scoring quiz. Plain data and computation; the windows live in :mod:`ra_desktop.ui`."""
