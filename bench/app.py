"""The application as gunicorn serves it for the benchmark (the ordinary app; /healthz is its yardstick)."""

import gc

from qa_incidents import create_app

app = create_app()
# Everything loaded so far (the app, its modules, the catalogues) lives as long as the worker: moved out of the
# collector's reach, so that the full collections a request can trigger walk only what requests allocate
# (without this they cost a pause of 50-150 ms now and then, most of the p99).
gc.collect()
gc.freeze()
