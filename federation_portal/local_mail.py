"""The local run's email: nothing leaves the machine. Each email is kept as a file under
var/mail/ (across restarts), and announced with its links in var/mail/sent.log, which
scripts/run shows in the terminal as the worker sends them."""

import re
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from django.utils.text import slugify

LINK = re.compile(r"https?://[^\s<>\"')]+")


class LocalMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(settings.LOCAL_MAIL_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
            path = folder / f"{stamp}-{slugify(message.subject)[:60]}.eml"
            path.write_bytes(message.message().as_bytes())
            links = dict.fromkeys(LINK.findall(str(message.body)))
            lines = [f"Email to {', '.join(message.to)}: {message.subject}"]
            lines += [f"    {link}" for link in links]
            lines.append(f"    (the whole email: {path})")
            with (folder / "sent.log").open("a", encoding="utf-8") as log:
                log.write("\n".join(lines) + "\n")
        return len(email_messages)
