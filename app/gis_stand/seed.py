"""Deterministic demo data: organisations, houses with FIAS GUIDs, flats, accounts, payers, court debts,
and debt subrequests addressed to one organisation. Bulk inserts in chunks, fit for 1,000,000 accounts."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.kernel.calendar import add_working_days, moscow_today
from app.domain.kernel.snils import random_valid_snils
from app.gis_stand.houses import characterise
from app.gis_stand.models import Account, Cert, Debt, DebtRequest, House, Org, Premises, Subrequest

CHUNK = 5000
#: Working days to answer a subrequest (ЖК ст. 159/160 practice, domain-rules §1).
ANSWER_WORKING_DAYS = 5

MALE_SURNAMES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков Алексеев "
    "Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров Зайцев "
    "Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин Фролов Александров Дмитриев Королёв "
    "Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков "
    "Баранов Филиппов Комаров Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов"
).split()
MALE_NAMES = (
    "Александр Алексей Андрей Антон Артём Борис Вадим Валерий Василий Виктор Владимир Владислав Геннадий "
    "Георгий Григорий Денис Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин Леонид Максим Михаил "
    "Никита Николай Олег Павел Пётр Роман Руслан Сергей Станислав Степан Тимофей Фёдор Юрий Ярослав"
).split()
FEMALE_NAMES = (
    "Александра Алина Алла Анастасия Анна Валентина Валерия Вера Виктория Галина Дарья Евгения Екатерина "
    "Елена Елизавета Жанна Зинаида Инна Ирина Кристина Ксения Лариса Любовь Людмила Маргарита Марина Мария "
    "Надежда Наталья Нина Оксана Ольга Полина Светлана Софья Тамара Татьяна Юлия Яна"
).split()
FATHER_NAMES = (
    "Александр Алексей Андрей Борис Василий Виктор Владимир Геннадий Григорий Дмитрий Евгений Иван Игорь "
    "Константин Леонид Михаил Николай Олег Павел Пётр Роман Сергей Степан Фёдор Юрий Анатолий Валентин"
).split()
STREETS = (
    "Ленина;Мира;Советская;Гагарина;Молодёжная;Школьная;Садовая;Лесная;Победы;Пушкина;Кирова;Центральная;"
    "Октябрьская;Набережная;Первомайская;Комсомольская;Заводская;Строителей;Чапаева;Московская;Лермонтова;"
    "Горького;Маяковского;Чехова;Калинина;Свердлова;Энтузиастов;Космонавтов;Дзержинского;Профсоюзная"
).split(";")
CITIES = (
    ("77", "г. Москва"), ("78", "г. Санкт-Петербург"), ("50", "Московская обл., г. Подольск"),
    ("66", "Свердловская обл., г. Екатеринбург"), ("54", "Новосибирская обл., г. Новосибирск"),
    ("16", "Респ. Татарстан, г. Казань"), ("52", "Нижегородская обл., г. Нижний Новгород"),
    ("63", "Самарская обл., г. Самара"), ("74", "Челябинская обл., г. Челябинск"),
    ("61", "Ростовская обл., г. Ростов-на-Дону"),
)  # fmt: skip
COMPANY_WORDS = (
    "Уют Комфорт Жилсервис Домострой Надёжный дом Городской квартал Наш дом Партнёр Содружество Альянс "
    "Центральная Восход Гарант Прогресс Рассвет Стандарт Лидер Перспектива Добрый дом Северная"
).split()
SENDERS = (
    "ГКУ «Центр социальных выплат»",
    "Управление социальной защиты населения администрации района",
    "ГБУ «Многофункциональный центр предоставления государственных услуг»",
    "Департамент труда и социальной защиты населения",
)
#: Letters allowed in the ЕЛС series (the stand uses Cyrillic capitals, as GIS prints them).
ELS_LETTERS = "АБВГДЕЖИКЛМНОПРСТУФХЦЧШЭЮЯ"


@dataclass
class SeedSummary:
    """What a seeding run created, with the target organisation and the time it took."""

    orgs: int = 0
    houses: int = 0
    premises: int = 0
    accounts: int = 0
    debts: int = 0
    requests: int = 0
    subrequests: int = 0
    org_ppa_guids: list[str] = field(default_factory=list)
    target_org_ppa_guid: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data."""
        return asdict(self)


class Names:
    """Deterministic generators of Russian personal data and identifiers from one `random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def guid(self) -> str:
        """Return a UUID4 drawn from the generator (FIAS and GIS GUIDs alike)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def person(self) -> tuple[str, str, str, str]:
        """Return (surname, first name, patronymic, sex M/F) in the right grammatical gender."""
        rng = self.rng
        male = rng.random() < 0.48
        surname = rng.choice(MALE_SURNAMES)
        father = rng.choice(FATHER_NAMES)
        if male:
            return surname, rng.choice(MALE_NAMES), _patronymic(father, male=True), "M"
        return surname + "а", rng.choice(FEMALE_NAMES), _patronymic(father, male=False), "F"

    def fio(self) -> str:
        """Return a full name as one string."""
        s, f, p, _ = self.person()
        return f"{s} {f} {p}"


def _patronymic(father: str, *, male: bool) -> str:
    # Russian patronymics from the father's name: -ович/-овна, -евич/-евна after й/ь, special cases.
    special = {"Пётр": "Петр", "Павел": "Павл", "Лев": "Льв"}
    stem = special.get(father, father)
    if stem.endswith(("й", "ь")):
        return stem[:-1] + ("евич" if male else "евна")
    if stem == "Илья":
        return "Ильич" if male else "Ильинична"
    return stem + ("ович" if male else "овна")


def _phone(rng: random.Random) -> str:
    return f"+7 ({rng.randint(800, 999)}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


async def _next_id(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as conn:
        current = await conn.scalar(select(func.max(table.c.id)))
    return int(current or 0) + 1


async def _bulk(engine: AsyncEngine, table: Table, rows: list[dict[str, Any]]) -> None:
    # executemany in chunks: insertmanyvalues batches them into multi-row INSERTs on both backends.
    for chunk in _chunks(rows):
        async with engine.begin() as conn:
            await conn.execute(insert(table), chunk)
    if rows and "id" in rows[0] and engine.dialect.name == "postgresql":
        # The rows carry their ids, so PostgreSQL's sequence did not move: move it past them, or the stand's
        # next ORM insert (an importAccountData, a test's row) would collide with a seeded id.
        async with engine.begin() as conn:
            highest = select(func.max(table.c.id)).scalar_subquery()
            await conn.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), highest)))


async def seed(
    engine: AsyncEngine,
    *,
    orgs: int = 1,
    accounts: int = 1000,
    subrequests: int = 100,
    seed: int = 1,
    org_ppa_guid: str | None = None,
    cert_pem: str | None = None,
    today: date | None = None,
    flats_per_house: int = 60,
    debt_share: float = 0.05,
    sent_within_days: int = 4,
    living_houses: int = 0,
) -> SeedSummary:
    """Generate demo data into the stand's database; the same arguments give the same data."""
    started = time.perf_counter()
    rng = random.Random(seed)
    names = Names(rng)
    today = today or moscow_today()
    summary = SeedSummary()
    org_table: Table = Org.__table__  # type: ignore[assignment]
    org_id0 = await _next_id(engine, org_table)
    org_rows: list[dict[str, Any]] = []
    for i in range(max(1, orgs)):
        word = rng.choice(COMPANY_WORDS)
        ppa = names.guid()
        if i == 0 and org_ppa_guid:
            ppa = org_ppa_guid.lower()
        org_rows.append(
            {
                "id": org_id0 + i, "ppa_guid": ppa, "root_guid": names.guid(),
                "name": f"ООО «УК «{word}-{i + 1}»",
                "inn": f"{rng.randint(10**9, 10**10 - 1)}", "ogrn": f"1{rng.randint(10**11, 10**12 - 1)}",
                "kind": "uo", "tel": _phone(rng),
            }
        )  # fmt: skip
    async with engine.connect() as conn:
        existing = set((await conn.scalars(select(Org.ppa_guid))).all())
    new_orgs = [r for r in org_rows if r["ppa_guid"] not in existing]
    await _bulk(engine, org_table, new_orgs)
    async with engine.connect() as conn:
        ids = {r.ppa_guid: r.id for r in (await conn.execute(select(Org.ppa_guid, Org.id))).all()}
    org_ids = [ids[r["ppa_guid"]] for r in org_rows]
    target = org_ids[0]
    summary.orgs = len(new_orgs)
    summary.org_ppa_guids = [r["ppa_guid"] for r in org_rows]
    summary.target_org_ppa_guid = org_rows[0]["ppa_guid"]
    if cert_pem:
        from app.gis_stand.soap import thumbprint

        await _bulk(
            engine,
            Cert.__table__,  # type: ignore[arg-type]
            [{"org_id": target, "pem": cert_pem, "thumbprint": thumbprint(cert_pem.encode())}],
        )

    # Houses, flats and accounts (one account per flat).
    house_count = max(1, -(-accounts // flats_per_house))
    house_id0 = await _next_id(engine, House.__table__)  # type: ignore[arg-type]
    premises_id0 = await _next_id(engine, Premises.__table__)  # type: ignore[arg-type]
    account_id0 = await _next_id(engine, Account.__table__)  # type: ignore[arg-type]
    houses: list[dict[str, Any]] = []
    premises: list[dict[str, Any]] = []
    account_rows: list[dict[str, Any]] = []
    by_org: dict[int, list[dict[str, Any]]] = {i: [] for i in org_ids}
    for h in range(house_count):
        region, city = rng.choice(CITIES)
        org_id = org_ids[h % len(org_ids)]
        house = {
            "id": house_id0 + h, "guid": names.guid(), "fias_guid": names.guid(), "org_id": org_id,
            "address": f"{city}, ул. {rng.choice(STREETS)}, д. {rng.randint(1, 150)}"
            + (f", корп. {rng.randint(1, 4)}" if rng.random() < 0.2 else ""),
        }  # fmt: skip
        houses.append(house)
        flats = min(flats_per_house, accounts - len(account_rows))
        for n in range(1, flats + 1):
            pid = premises_id0 + len(premises)
            area = Decimal(rng.randint(2800, 9500)) / 100
            premises.append(
                {
                    "id": pid,
                    "guid": names.guid(),
                    "house_id": house["id"],
                    "number": str(n),
                    "total_area": area,
                }
            )
            surname, first, patronymic, sex = names.person()
            aid = account_id0 + len(account_rows)
            els = f"{region}{rng.choice(ELS_LETTERS)}{rng.choice(ELS_LETTERS)}{aid % 1_000_000:06d}"
            charge = (area * Decimal(rng.randint(4500, 7500)) / 100).quantize(Decimal("0.01"))
            owes = rng.random() < debt_share * 3
            row = {
                "id": aid, "guid": names.guid(), "org_id": org_id, "house_id": house["id"],
                "premises_id": pid,
                "account_number": f"{org_id:03d}{aid:09d}", "unified_number": els, "service_id": f"{els}-01",
                "kind": "isUOAccount", "creation_date": today - timedelta(days=rng.randint(400, 5000)),
                "living_persons": rng.randint(1, 5), "total_square": area, "surname": surname,
                "first_name": first, "patronymic": patronymic, "sex": sex,
                "birth_date": date(rng.randint(1940, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                "snils": random_valid_snils(rng), "monthly_charge": charge,
                "debt": charge * rng.randint(3, 30) if owes else Decimal(0),
            }  # fmt: skip
            account_rows.append(row)
            by_org[org_id].append(row)
    # House characteristics for exportHouseData, from a generator of their own so the rest stays as it was.
    extra_premises = characterise(
        houses,
        premises,
        rng=random.Random(seed * 1_000_003 + 17),
        next_premises_id=premises_id0 + len(premises),
        now=datetime.now(UTC),
    )
    await _bulk(engine, House.__table__, houses)  # type: ignore[arg-type]
    await _bulk(engine, Premises.__table__, premises + extra_premises)  # type: ignore[arg-type]
    await _bulk(engine, Account.__table__, account_rows)  # type: ignore[arg-type]
    summary.houses, summary.accounts = len(houses), len(account_rows)
    summary.premises = len(premises) + len(extra_premises)
    # Unique ЕЛС: the account id makes the six digits unique below a million per region/letter pair; the
    # letters only make it look real. Above that the unique constraint would tell.

    # Court-confirmed debts (registry) for a share of the debtors.
    debt_rows = []
    debtor_premises: list[int] = []
    for row in account_rows:
        if row["debt"] and rng.random() < 1 / 3:
            act = today - timedelta(days=rng.randint(60, 900))
            debt_rows.append(
                {
                    "guid": names.guid(), "org_id": row["org_id"], "account_id": row["id"],
                    "house_id": row["house_id"], "premises_id": row["premises_id"], "surname": row["surname"],
                    "first_name": row["first_name"],
                    "patronymic": row["patronymic"], "snils": row["snils"], "inn": None,
                    "act_number": f"2-{rng.randint(100, 9999)}/{act.year}",
                    "act_date": act, "act_pronounced": act - timedelta(days=rng.randint(10, 40)),
                    "amount": row["debt"], "status": "PUBLISHED", "repayment_status": "UNPAID",
                    "first_published": act + timedelta(days=rng.randint(1, 30)),
                    "last_published": act + timedelta(days=rng.randint(30, 60)), "attachments": "[]",
                }
            )  # fmt: skip
            if row["org_id"] == target:
                debtor_premises.append(row["premises_id"])
    await _bulk(engine, Debt.__table__, debt_rows)  # type: ignore[arg-type]
    summary.debts = len(debt_rows)

    # Subrequests addressed to the target organisation, one request each, sent over recent days.
    target_rows = by_org[target]
    request_id0 = await _next_id(engine, DebtRequest.__table__)  # type: ignore[arg-type]
    house_by_id = {h["id"]: h for h in houses}
    requests, subs = [], []
    for k in range(subrequests if target_rows else 0):
        row = rng.choice(target_rows)
        if debtor_premises and rng.random() < 0.2:
            row = account_rows[rng.choice(debtor_premises) - premises_id0]
        sent = today - timedelta(days=rng.randint(0, max(0, sent_within_days)))
        rid = request_id0 + k
        requests.append(
            {
                "id": rid, "guid": names.guid(), "number": f"{sent:%y%m%d}-{rid:07d}",
                "sender_root_guid": names.guid(), "sender_name": rng.choice(SENDERS),
                "sender_tel": _phone(rng),
                "period_start": date(sent.year - 3, sent.month, 1), "period_end": sent,
                "executor_guid": names.guid(), "executor_fio": names.fio(),
            }
        )  # fmt: skip
        house = house_by_id[row["house_id"]]
        number = premises[row["premises_id"] - premises_id0]["number"]
        subs.append(
            {
                "guid": names.guid(), "request_id": rid, "org_id": target, "house_id": row["house_id"],
                "premises_id": row["premises_id"], "address": f"{house['address']}, кв. {number}",
                "address_details": f"кв. {number}", "sent_date": sent,
                "response_date": add_working_days(sent, ANSWER_WORKING_DAYS), "response_status": "NotSent",
            }
        )  # fmt: skip
    await _bulk(engine, DebtRequest.__table__, requests)  # type: ignore[arg-type]
    await _bulk(engine, Subrequest.__table__, subs)  # type: ignore[arg-type]
    summary.requests, summary.subrequests = len(requests), len(subs)
    if living_houses:
        added = await _seed_living_houses(
            engine, rng=random.Random(seed * 7_919 + 3), names=names, org_id=target, count=living_houses,
            today=today,
        )  # fmt: skip
        summary.houses += added[0]
        summary.premises += added[1]
        summary.accounts += added[2]
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


async def _seed_living_houses(
    engine: AsyncEngine, *, rng: random.Random, names: Names, org_id: int, count: int, today: date
) -> tuple[int, int, int]:
    """Add individual houses (LivingHouse) for the organisation: detached ones with one account on the house
    itself, and terraced ones (every second) with two blocks, one account a block. Return the rows added.

    Drawn after everything else, from a generator of their own, so the rest of a seed stays as it was.
    """
    house_id0 = await _next_id(engine, House.__table__)  # type: ignore[arg-type]
    premises_id0 = await _next_id(engine, Premises.__table__)  # type: ignore[arg-type]
    account_id0 = await _next_id(engine, Account.__table__)  # type: ignore[arg-type]
    houses: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for h in range(count):
        region, city = rng.choice(CITIES)
        area = Decimal(rng.randint(6000, 22000)) / 100
        house = {
            "id": house_id0 + h, "guid": names.guid(), "fias_guid": names.guid(), "org_id": org_id,
            "address": f"{city}, пер. {rng.choice(STREETS)}, д. {rng.randint(1, 90)}", "kind": "living_house",
            "unique_number": f"{rng.randint(10**9, 10**10 - 1)}", "cadastral_number": None,
            "used_year": rng.randint(1950, 2022), "floor_count": rng.choice((1, 2)), "underground_floors": 0,
            "total_area": area, "entrances": 0, "modified_at": now,
        }  # fmt: skip
        houses.append(house)
        terraced = h % 2 == 1
        units: list[tuple[int | None, Decimal]] = [(None, area)]
        if terraced:
            units = []
            for n in (1, 2):
                pid = premises_id0 + len(blocks)
                half = (area / 2).quantize(Decimal("0.01"))
                blocks.append(
                    {
                        "id": pid, "guid": names.guid(), "house_id": house["id"], "number": str(n),
                        "total_area": half, "kind": "house_block", "gross_area": None, "entrance": None,
                        "floor": None, "cadastral_number": None, "terminated_on": None,
                    }
                )  # fmt: skip
                units.append((pid, half))
        for premises_id, unit_area in units:
            charge = (unit_area * Decimal(rng.randint(4500, 7500)) / 100).quantize(Decimal("0.01"))
            surname, first, patronymic, sex = names.person()
            aid = account_id0 + len(accounts)
            els = f"{region}{rng.choice(ELS_LETTERS)}{rng.choice(ELS_LETTERS)}{aid % 1_000_000:06d}"
            accounts.append(
                {
                    "id": aid, "guid": names.guid(), "org_id": org_id, "house_id": house["id"],
                    "premises_id": premises_id, "account_number": f"{org_id:03d}{aid:09d}",
                    "unified_number": els, "service_id": f"{els}-01", "kind": "isUOAccount",
                    "creation_date": today - timedelta(days=rng.randint(400, 5000)),
                    "living_persons": rng.randint(1, 5), "total_square": unit_area, "surname": surname,
                    "first_name": first, "patronymic": patronymic, "sex": sex,
                    "birth_date": date(rng.randint(1940, 2002), rng.randint(1, 12), rng.randint(1, 28)),
                    "snils": random_valid_snils(rng),
                    "monthly_charge": charge,
                    "debt": Decimal(0),
                }
            )  # fmt: skip
    await _bulk(engine, House.__table__, houses)  # type: ignore[arg-type]
    await _bulk(engine, Premises.__table__, blocks)  # type: ignore[arg-type]
    await _bulk(engine, Account.__table__, accounts)  # type: ignore[arg-type]
    return len(houses), len(blocks), len(accounts)
