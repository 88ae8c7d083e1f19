"""E-mail of a notice with its PDF through the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from app.domain.kernel import errors
from app.settings import MonitoringSettings


async def send_notice_email(
    *, settings: MonitoringSettings, to: str, subject: str, body: str, pdf: bytes, filename: str
) -> None:
    """Send one message with the notice PDF attached; an unreachable server is a 503, nothing recorded."""
    if not settings.smtp_host:
        raise errors.ConflictError(
            "No SMTP server is configured (GISGW_MONITORING_SMTP_HOST).", rule="smtp_not_configured"
        )
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=filename)
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise errors.UpstreamUnavailable(
            f"The SMTP server did not accept the message: {type(exc).__name__}."
        ) from exc
