"""The DCB1596 minimum information security criteria the Feedback team starts from.

Staff edit them in the admin; this only fills an empty table, after every migrate (and after a
flush, which also sends post_migrate).
"""

from django.db import DEFAULT_DB_ALIAS

CRITERIA = [
    (
        "dcb1596-accreditation",
        "DCB1596 accreditation or a compliant email service",
        "Your organisation is accredited to the DCB1596 secure email standard, or its email is "
        "provided by a service that is.",
        "The accreditation certificate, or your provider's statement of compliance naming your "
        "organisation.",
        True,
    ),
    (
        "dmarc",
        "DMARC at quarantine or stricter, with a plan to reach reject",
        "Each federated domain publishes a DMARC policy of p=quarantine or p=reject, and you "
        "have a dated plan to reach p=reject.",
        "The published DMARC record and, if it is not yet p=reject, the plan and its dates.",
        True,
    ),
    (
        "tls",
        "TLS 1.2 or newer for email in transit",
        "Your mail servers offer STARTTLS with TLS 1.2 or newer for email to and from NHSmail.",
        "A configuration export or a test report showing the TLS versions offered.",
        True,
    ),
    (
        "spf-dkim",
        "SPF and DKIM",
        "Each federated domain publishes an SPF record ending -all or ~all and signs outgoing "
        "email with DKIM.",
        "The published SPF record and DKIM selector(s), or a test report showing both.",
        True,
    ),
    (
        "anti-malware",
        "Anti-malware filtering",
        "Inbound and outbound email is scanned for malware and phishing.",
        "A description or screenshot of the filtering service and its policy.",
        True,
    ),
    (
        "breach-notification",
        "A breach notification process",
        "You have a process to notify NHSmail and affected parties of a security incident "
        "that involves federated communication.",
        "The relevant section of your incident or breach procedure.",
        True,
    ),
    (
        "ods-code",
        "An active ODS code",
        "Your organisation has an active code in the NHS Organisation Data Service, where it "
        "is eligible for one.",
        "Your ODS code record, or an explanation of why your organisation has none.",
        False,
    ),
]


# Criterion code -> (the domain checks shown with its evidence, whether screenshots are taken).
CHECKS_AND_IMAGES = {
    "dmarc": ("dmarc", True),
    "tls": ("starttls", True),
    "spf-dkim": ("spf, dkim", True),
    "anti-malware": ("", True),
}


def ensure_default_criteria(**kwargs) -> None:
    """post_migrate: seed the criteria when there are none."""
    from .models import EvidenceCriterion

    # The connection migrate runs on (the owner's, in production), not the app's.
    criteria = EvidenceCriterion.objects.using(kwargs.get("using", DEFAULT_DB_ALIAS))
    if criteria.exists():
        return
    criteria.bulk_create(
        EvidenceCriterion(
            code=code,
            title=title,
            description=description,
            accepted_evidence=accepted,
            required=required,
            position=position,
            related_checks=CHECKS_AND_IMAGES.get(code, ("", False))[0],
            accepts_images=CHECKS_AND_IMAGES.get(code, ("", False))[1],
        )
        for position, (code, title, description, accepted, required) in enumerate(CRITERIA, 1)
    )
