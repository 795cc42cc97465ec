"""HTML pages of the dashboard (owned by the dashboard work); the app includes `router`.

Handlers parse the request, call the store (or the API's submit path) and render a template from
frontend/templates; figures come from backend.figures, exports from backend.exports.
"""

from fastapi import APIRouter

from backend.pages import assets, compare_page, launch_page, run_page, runs_page, share_page

router = APIRouter()
router.include_router(assets.router)
router.include_router(runs_page.router)  # before run_page: /runs/live.json is not /runs/{id}
router.include_router(launch_page.router)
router.include_router(run_page.router)
router.include_router(compare_page.router)
router.include_router(share_page.router)
