"""The XLT Lab training library: run config, data, methods, evaluation.

Kept free of heavy imports so that `backend` can import `worker.training.config` and
`worker.training.languages` without pulling in torch.
"""
