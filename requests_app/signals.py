"""What requests_app announces for the apps built on it to act on (in the same transaction),
so it never imports them: agreements invites a newly named signatory to sign."""

from django.dispatch import Signal

# Sent with req (FederationRequest) and contact (Contact) when the SPOC names a signatory. One
# named on the request form is invited when the agreement is sent (nothing to sign before).
signatory_named = Signal()
