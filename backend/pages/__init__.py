"""HTML pages of the dashboard (owned by the dashboard work); the app includes `router`."""

from fastapi import APIRouter

router = APIRouter()
