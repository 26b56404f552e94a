"""The demo site: realistic people and a few hundred sessions around today.

Deterministic (fixed seed), so screenshots and bug reports can be compared.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from core.accounts.models import CoachClient, Role, User
from core.accounts.passwords import hash_password
from core.admin.setup import SETUP_COMPLETED
from core.db import db, utcnow
from core.i18n import site_timezone
from core.payments.service import record_payment
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus
from core.settings import set_option

DEMO_PASSWORD = "demo-coachdesk"
DOMAIN = "demo.coachdesk.test"

COACHES = [("Camille", "Laurent"), ("Julien", "Moreau")]
CLIENTS = [
    ("Léa", "Martin"),
    ("Hugo", "Bernard"),
    ("Chloé", "Dubois"),
    ("Lucas", "Thomas"),
    ("Emma", "Robert"),
    ("Nathan", "Richard"),
    ("Manon", "Petit"),
    ("Louis", "Durand"),
    ("Inès", "Leroy"),
    ("Gabriel", "Simon"),
    ("Jade", "Michel"),
    ("Arthur", "Lefèvre"),
    ("Sarah", "Garcia"),
    ("Raphaël", "David"),
    ("Zoé", "Bertrand"),
    ("Tom", "Roux"),
    ("Alice", "Vincent"),
    ("Noah", "Fournier"),
    ("Lina", "Morel"),
    ("Adam", "Girard"),
]
#: A coaching studio in Lyon: session titles in its own language, French.
TOPICS = [
    ("Renforcement musculaire", "Salle Vauban, 12 rue Vauban, Lyon", None),
    ("Technique de course", "Parc de la Tête d'Or, entrée principale", None),
    ("Point nutrition", None, "https://meet.example.com/nutrition"),
    ("Mobilité et récupération", "Studio Bellecour, 3 place Bellecour, Lyon", None),
    ("Préparation mentale", None, "https://meet.example.com/mindset"),
    ("Bilan des objectifs", "Café Mokxa, 3 rue de l'Abbé Rozier, Lyon", None),
]
#: What its receipts and pages show, like a real business's.
BUSINESS = {
    "general.site_name": "Élan Coaching Lyon",
    "receipts.business_name": "Élan Coaching SARL",
    "receipts.business_address": "12 rue Vauban\n69006 Lyon\nFrance",
    "receipts.tax_id": "SIRET 812 345 678 00019 · TVA FR 41 812345678",
}


def _email(first: str, last: str) -> str:
    ascii_name = f"{first}.{last}".lower()
    for src, dst in (("é", "e"), ("è", "e"), ("ë", "e"), ("ï", "i")):
        ascii_name = ascii_name.replace(src, dst)
    return f"{ascii_name}@{DOMAIN}"


def demo_logins() -> list[tuple[str, str]]:
    return [
        ("admin", f"admin@{DOMAIN}"),
        *[("coach", _email(f, last)) for f, last in COACHES],
        *[("client", _email(f, last)) for f, last in CLIENTS[:2]],
    ]


def load_demo(seed: int = 7, now: datetime | None = None) -> None:
    """Create the demo people and sessions in the current database and commit."""
    rng = random.Random(seed)
    now = now or utcnow()
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: argon2 is slow on purpose

    def person(first: str, last: str, role: Role, email: str | None = None) -> User:
        user = User(
            email=email or _email(first, last),
            first_name=first,
            last_name=last,
            role=role.value,
            password_hash=password_hash,
            phone=f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
            f"{rng.randint(10, 99)}",
        )
        db.add(user)
        return user

    admin = person("Alex", "Admin", Role.ADMIN, f"admin@{DOMAIN}")
    admin.phone = None
    coaches = [person(f, last, Role.COACH) for f, last in COACHES]
    clients = [person(f, last, Role.CLIENT) for f, last in CLIENTS]
    db.flush()
    for index, client in enumerate(clients):
        db.add(CoachClient(coach_id=coaches[index % 2].id, client_id=client.id))

    tz = site_timezone()
    today = now.astimezone(tz).date()
    for index, client in enumerate(clients):
        coach = coaches[index % 2]
        for _ in range(rng.randint(10, 18)):
            day = today + timedelta(days=rng.randint(-150, 45))
            local = datetime.combine(
                day, time(rng.choice([8, 9, 10, 11, 14, 16, 17, 18]), rng.choice([0, 30])), tz
            )
            starts_at = local.astimezone(UTC)
            title, location, video = rng.choice(TOPICS)
            past = starts_at < now
            status = (
                rng.choices(["completed", "cancelled", "no_show"], [85, 12, 3])[0]
                if past
                else rng.choices(["booked", "confirmed", "cancelled"], [55, 40, 5])[0]
            )
            price = rng.choice([None, 4500, 6000, 6000, 8000])
            session = CoachingSession(
                coach_id=coach.id,
                client_id=client.id,
                title=title,
                starts_at=starts_at,
                duration_minutes=rng.choice([45, 60, 60, 90]),
                location=location,
                video_url=video,
                price_amount=price,
                currency="EUR",
                status=status,
                payment_status=PaymentStatus.PENDING.value,
                created_by_id=coach.id,
                confirmation_sent_at=starts_at - timedelta(days=7) if status != "booked" else None,
            )
            if status == SessionStatus.CANCELLED:
                session.cancelled_at = starts_at - timedelta(days=2)
                session.cancelled_by_id = rng.choice([coach.id, client.id])
                session.payment_status = PaymentStatus.CANCELLED.value
            db.add(session)
            db.flush()
            if price and status == SessionStatus.COMPLETED and rng.random() < 0.8:
                record_payment(
                    session,
                    method=rng.choice(["cash", "transfer", "card", "cheque"]),
                    paid_at=starts_at + timedelta(hours=1),
                    recorded_by_id=coach.id,
                )
            elif price and status == SessionStatus.CONFIRMED and rng.random() < 0.3:
                record_payment(session, method="transfer", paid_at=now - timedelta(days=1))
    for key, value in BUSINESS.items():
        set_option(key, value)
    set_option(SETUP_COMPLETED, True)  # the demo site is set up: no first-run wizard
    db.commit()
