"""The reference central server: implements docs/central-api.md for tests, demos and training.

Optional: needs the `central` extra (`pip install "prakerja-cli[central]"`, Starlette + uvicorn).
`contract`, `registry`, `reference` and `store` use the standard library only; `app` needs the extra.
"""
