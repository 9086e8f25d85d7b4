"""Sign-in: contacts by emailed link (sign_in), staff by password and authenticator (staff)."""
