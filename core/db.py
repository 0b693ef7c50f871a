"""Engine and session factories. Nothing is created at import time."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An async engine with a bounded pool.

    Pre-ping tests each connection as it leaves the pool, so callers that cannot retry survive
    a Postgres restart. Callers that retry anyway (activities) can turn it off: the first use
    of a dead connection then fails, invalidates the pool, and the retry gets a fresh one.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
    )


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def engine_of(sessions: SessionFactory) -> AsyncEngine:
    """The engine a session factory is bound to, for statements that need no ORM session."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    return engine
