"""What requests_app announces for the apps built on it to act on (in the same transaction),
so it never imports them: agreements invites a newly named signatory to sign."""

from django.dispatch import Signal

# Sent with req (FederationRequest) and contact (Contact) when a signatory is named: on the
# request form, or by the SPOC later.
signatory_named = Signal()
