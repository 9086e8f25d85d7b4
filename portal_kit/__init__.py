"""The bottom floor every app may stand on and no app owns: page decorators, form fields, the
upload limit, the client's address, throttles, read-only admin, and ActionRefused, the one
error every service raises with a sentence for a person. Imports no app."""
