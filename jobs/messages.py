"""Send one shop's due messages in this process: the step the sender job and queue task share."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from shopify_app.adapters.smtp import SMTPMailer
from shopify_app.context import get_settings
from shopify_app.db import get_database
from shopify_app.messaging.sender import SenderConfig
from shopify_app.messaging.sender import send_due_messages
from shopify_app.messaging.template_overrides import load_template_override


def send_shop_messages(app: Flask, shop_id: int, now: datetime) -> int:
    """Send the shop's due messages over SMTP_URL in this process; return how many went out."""
    settings = get_settings(app)
    report = send_due_messages(
        get_database(app).session_factory,
        now=now,
        shop_id=shop_id,
        mailer=SMTPMailer(settings.smtp_url),
        config=SenderConfig(
            mail_from=settings.mail_from,
            app_url=settings.app_url,
            secret_key=settings.secret_key,
        ),
        override_loader=load_template_override,
    )
    return report.sent
