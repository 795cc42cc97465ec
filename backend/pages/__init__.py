"""HTML pages of the dashboard; the app includes `router`.

Handlers parse the request, call one service (backend.services) and render a template from
frontend/templates (views.py turns service results into template context, figures included) or
send a download (downloads.py). Pages never import the JSON API package.
"""

from fastapi import APIRouter

from backend.pages import (
    assets,
    compare_page,
    experiment_page,
    launch_page,
    login_page,
    run_page,
    runs_page,
    share_page,
)

router = APIRouter()
router.include_router(assets.router)
router.include_router(runs_page.router)  # before run_page: /runs/live.json is not /runs/{id}
router.include_router(launch_page.router)
router.include_router(run_page.router)
router.include_router(compare_page.router)
router.include_router(experiment_page.router)
router.include_router(share_page.router)
router.include_router(login_page.router)
