"""The `xlt` command: the composition root of XLT Lab.

It starts and wires the other packages together (the API and dashboard from `backend`, the Celery
worker from `worker`, stand-alone training from `worker.training`), so it sits at the top of the
dependency graph: it may import everything, and nothing imports it (an import-linter contract).

    cli.py      the argument parser and the verbs
    serve.py    `xlt serve`: migrate, local worker, uvicorn
    worker.py   `xlt worker`: a Celery worker with XLT Lab's queues and pool
    client.py   client verbs over the JSON API (`xlt submit`)
"""
