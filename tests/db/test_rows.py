"""`fetch_rows`: a Core SELECT run straight on asyncpg gives the rows SQLAlchemy gives."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from app.db.engine import create_engine, create_sessionmaker
from app.db.models.core import Organisation
from app.db.rows import fetch_rows
from tests.factories import make_org

_STMT = (
    select(Organisation.id, Organisation.inn.label("org_inn"), Organisation.created_at)
    .where(Organisation.id.in_(bindparam("orgs", expanding=True)))
    .where(Organisation.region_code == bindparam("region", type_=Organisation.region_code.type))
    .order_by(Organisation.id)
)


async def test_rows_match_sqlalchemy_for_every_list_length(fresh_database_url: str) -> None:
    engine = create_engine(fresh_database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            orgs = [(await make_org(session, inn=f"77000000{i:02d}")).id for i in range(3)]
        autocommit = engine.dialect.name == "postgresql"  # the driver path runs on PostgreSQL only
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for ids in ([orgs[0]], orgs[:2], orgs, orgs[:2], [orgs[2]]):
                params = {"orgs": ids, "region": "77"}
                want = (await conn.execute(_STMT, params)).all()
                got = await fetch_rows(conn, _STMT, params, autocommit=autocommit)
                assert [tuple(r) for r in got] == [tuple(r) for r in want]
                assert [(r.id, r.org_inn) for r in got] == [(r.id, r.org_inn) for r in want]
                assert len(got) == len(ids)
            assert await fetch_rows(conn, _STMT, {"orgs": orgs, "region": "00"}, autocommit=autocommit) == []
        # Inside a transaction the statement goes through SQLAlchemy (its lazily begun transaction).
        async with engine.connect() as conn:
            rows = await fetch_rows(conn, _STMT, {"orgs": orgs, "region": "77"}, autocommit=False)
            assert len(rows) == 3
    finally:
        await engine.dispose()
