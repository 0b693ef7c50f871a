"""Store items: create one or replace its stock, read one, list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from api.auth import require
from api.deps import SessionDep
from api.schemas import ErrorOut, ItemIdPath, StoreItemIn, StoreItemOut
from core.models import StoreItemRow
from core.stock import set_stock

router = APIRouter(tags=["store"])


@router.post(
    "/store-items", dependencies=[require("admin")], status_code=201, response_model=StoreItemOut
)
async def put_store_item(item: StoreItemIn, session: SessionDep) -> StoreItemOut:
    """Create an item, or replace its stock. The change is journalled for reconciliation."""
    async with session.begin():
        await set_stock(session, item.item_id, item.quantity)
    return StoreItemOut(item_id=item.item_id, stock=item.quantity)


@router.post(
    "/create-store-item",
    dependencies=[require("admin")],
    status_code=201,
    response_model=StoreItemOut,
    summary="Seed route: same as POST /store-items, with the seed's `itemId`",
)
async def create_store_item(item: StoreItemIn, session: SessionDep) -> StoreItemOut:
    return await put_store_item(item, session)


@router.get("/store-items", dependencies=[require("runs:read")], response_model=list[StoreItemOut])
async def list_store_items(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[StoreItemOut]:
    rows = await session.execute(
        select(StoreItemRow.item_id, StoreItemRow.stock)
        .order_by(StoreItemRow.item_id)
        .limit(limit)
        .offset(offset)
    )
    return [StoreItemOut(item_id=item_id, stock=stock) for item_id, stock in rows]


@router.get(
    "/store-items/{item_id}",
    dependencies=[require("runs:read")],
    response_model=StoreItemOut,
    responses={404: {"model": ErrorOut}},
)
async def get_store_item(item_id: ItemIdPath, session: SessionDep) -> StoreItemOut:
    stock = await session.scalar(select(StoreItemRow.stock).where(StoreItemRow.item_id == item_id))
    if stock is None:
        raise HTTPException(status_code=404, detail=f"store item {item_id!r} not found")
    return StoreItemOut(item_id=item_id, stock=stock)
