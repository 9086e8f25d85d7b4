"""What several faces share and no app owns: page decorators, form fields, the upload limit,
the client's address, throttles, read-only admin, and the one domain error. Imports no app."""
