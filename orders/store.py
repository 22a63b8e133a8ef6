"""The order store: Harbor Goods orders in a real database, reached through SQLAlchemy.

    ORDERS_DATABASE_URL         sqlite:///<repo>/var/orders.sqlite3 when unset (folder created);
                                any SQLAlchemy URL, e.g. postgresql+psycopg2://user:pw@host/db
    ORDERS_DB_TIMEOUT_SECONDS   how long a customer may wait for a lookup (default 3)

The table is created and, while empty, seeded from actions/data/orders.csv on the first lookup,
never at import: the action server imports every module of the package at start-up, and a
database that is down then must cost one apology, not a crashed server.

Every lookup is bounded twice: the driver gets connect and statement timeouts, and `find_async`
stops waiting after the same number of seconds even if a driver ignores its own timeout (a
connection that hangs in TCP, a DNS lookup). Both failures surface as `OrderStoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, create_engine, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = REPO_ROOT / "var" / "orders.sqlite3"
SEED_CSV = Path(__file__).resolve().parent / "orders.csv"
DEFAULT_TIMEOUT_SECONDS = 3.0

_metadata = MetaData()
orders_table = Table(
    "orders",
    _metadata,
    Column("order_number", String(16), primary_key=True),
    Column("email", String(254), nullable=False),
    Column("postal_code", String(16), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("state", String(32), nullable=False),
    Column("placed_at", Date),
    Column("carrier", String(32)),
    Column("tracking_number", String(64)),
    Column("estimated_delivery", Date),
    Column("delivered_at", Date),
    Column("items", String(1000), nullable=False),
    # Whole cents: SQLite has no exact decimal type, and money must not pass through floats.
    Column("total_cents", Integer, nullable=False),
    Column("refund_status", String(32)),
)


class OrderStoreUnavailable(RuntimeError):
    """The order database could not answer in time (down, unreachable, slow or misconfigured)."""


@dataclass(frozen=True)
class Order:
    """One order as the assistant may describe it once the customer is verified."""

    order_number: str
    email: str
    postal_code: str
    customer_name: str
    state: str
    placed_at: date | None
    carrier: str | None
    tracking_number: str | None
    estimated_delivery: date | None
    delivered_at: date | None
    items: str
    total_cents: int
    refund_status: str | None

    @property
    def total_usd(self) -> Decimal:
        return Decimal(self.total_cents) / 100


def default_database_url() -> str:
    """The SQLite file under <repo>/var, wherever the process was started from."""
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"


def timeout_from_env(environ: Mapping[str, str]) -> float:
    """Read ORDERS_DB_TIMEOUT_SECONDS strictly: a typo must not silently mean "wait forever"."""
    raw = environ.get("ORDERS_DB_TIMEOUT_SECONDS", "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(
            f"ORDERS_DB_TIMEOUT_SECONDS must be a number of seconds, got {raw!r}"
        ) from None
    if not 0 < value <= 60:
        raise ValueError(f"ORDERS_DB_TIMEOUT_SECONDS must be in (0, 60], got {value}")
    return value


class OrderStore:
    """Looks orders up by number. Safe to share between the action server's worker threads."""

    def __init__(
        self,
        url: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        seed_csv: Path | None = SEED_CSV,
        workers: int | None = None,
    ) -> None:
        self.url = url or default_database_url()
        self.timeout_seconds = timeout_seconds
        self._seed_csv = seed_csv
        # `workers`: lookups run on a pool of their own this size (threads start on demand), so a
        # database that hangs ties up these threads and no others; a lookup waiting for a thread
        # counts against the same timeout. None: the event loop's default pool (the actions).
        self._pool = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="orders")
            if workers
            else None
        )
        self._engine: Engine | None = None
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OrderStore:
        """Build the store from ORDERS_DATABASE_URL and ORDERS_DB_TIMEOUT_SECONDS."""
        env = os.environ if environ is None else environ
        return cls(
            url=env.get("ORDERS_DATABASE_URL", "").strip() or None,
            timeout_seconds=timeout_from_env(env),
        )

    def find(self, order_number: str) -> Order | None:
        """Return the order with this canonical number (HG-10042), or None if there is none.

        Blocking; raises OrderStoreUnavailable when the database cannot answer.
        """
        try:
            engine = self._ready_engine()
            with engine.connect() as connection:
                row = connection.execute(
                    select(orders_table).where(orders_table.c.order_number == order_number)
                ).first()
        except SQLAlchemyError as error:
            # The URL may hold a password, so only the error class and the driver's text are logged.
            logger.warning("order store unavailable: %s", error.__class__.__name__)
            raise OrderStoreUnavailable(str(error.__class__.__name__)) from error
        return None if row is None else Order(**dict(row._mapping))

    async def find_async(self, order_number: str) -> Order | None:
        """`find` off the event loop, given up after `timeout_seconds` whatever the driver does."""
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._pool, self.find, order_number),
                timeout=self.timeout_seconds,
            )
        except asyncio.TimeoutError as error:
            logger.warning("order store did not answer within %.1f s", self.timeout_seconds)
            raise OrderStoreUnavailable("timeout") from error

    def dispose(self) -> None:
        """Close pooled connections (tests, shutdown); lookups still waiting for a thread are
        dropped, and a thread stuck in a driver is left to its own timeout."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            self._engine.dispose()

    def _ready_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._create_engine()
            if not self._ready:
                _metadata.create_all(self._engine)
                self._seed_if_empty(self._engine)
                self._ready = True
            return self._engine

    def _create_engine(self) -> Engine:
        url = make_url(self.url)
        connect_args: dict[str, Any] = {}
        options: dict[str, Any] = {}
        backend = url.get_backend_name()
        if backend == "sqlite":
            database = url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # Seconds to wait for a write lock held by another worker.
            connect_args["timeout"] = self.timeout_seconds
        elif backend == "postgresql" and url.get_driver_name() == "psycopg2":
            # libpq counts whole seconds (and treats anything below 2 as 2); statement_timeout is
            # in milliseconds and stops a query the server is slow to answer.
            connect_args["connect_timeout"] = max(2, math.ceil(self.timeout_seconds))
            connect_args["options"] = f"-c statement_timeout={int(self.timeout_seconds * 1000)}"
        if backend != "sqlite":
            # Waiting for a pooled connection counts against the same budget. (SQLite file
            # databases use no pool in SQLAlchemy 1.4 and reject the option.)
            options["pool_timeout"] = self.timeout_seconds
        return create_engine(
            url, future=True, pool_pre_ping=True, connect_args=connect_args, **options
        )

    def _seed_if_empty(self, engine: Engine) -> None:
        if self._seed_csv is None:
            return
        with engine.connect() as connection:
            count = connection.execute(select(func.count()).select_from(orders_table)).scalar_one()
        if count:
            return
        rows = load_seed_orders(self._seed_csv)
        try:
            with engine.begin() as connection:
                connection.execute(orders_table.insert(), rows)
        except IntegrityError:
            # Another action-server process seeded the same empty table a moment earlier.
            logger.info("order store already seeded by another process")
        else:
            logger.info("seeded %d demo orders from %s", len(rows), self._seed_csv.name)


def load_seed_orders(path: Path) -> list[dict[str, Any]]:
    """Read the demo orders CSV into rows for the orders table (postal codes stay strings)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [_row_from_csv(record) for record in csv.DictReader(handle)]


def _row_from_csv(record: Mapping[str, str]) -> dict[str, Any]:
    def optional_text(key: str) -> str | None:
        return record[key].strip() or None

    def optional_date(key: str) -> date | None:
        value = record[key].strip()
        return date.fromisoformat(value) if value else None

    return {
        "order_number": record["order_number"].strip(),
        "email": record["email"].strip(),
        "postal_code": record["postal_code"].strip(),
        "customer_name": record["customer_name"].strip(),
        "state": record["state"].strip(),
        "placed_at": optional_date("placed_at"),
        "carrier": optional_text("carrier"),
        "tracking_number": optional_text("tracking_number"),
        "estimated_delivery": optional_date("estimated_delivery"),
        "delivered_at": optional_date("delivered_at"),
        "items": record["items"].strip(),
        "total_cents": int(Decimal(record["total_usd"].strip()) * 100),
        "refund_status": optional_text("refund_status"),
    }
