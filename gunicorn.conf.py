"""Read by gunicorn from the working directory (the repo root, where the Procfile, the Dockerfile
and docker-compose start it)."""


def post_fork(server, worker):
    # After the fork, not before: a thread does not survive fork, and torch must not run in the
    # master whose memory the workers share. Each worker loads the current reward models at start
    # and any promoted later, so a first scoring request never waits seconds for a load.
    import annotator.wsgi  # noqa: F401  (Django set up; already imported under --preload)
    from rewardtrain.serving import start_scorer_warmer

    start_scorer_warmer()


# The worker model (the Procfile and the Dockerfile pass the same flags): processes x threads
# (gthread). A request waiting on the database, or on torch (which releases the GIL), holds one
# thread, not its process: while one get_reward batch scored for 66-262 s, labeling's `next` kept
# a p95 of 20-37 ms (149 ms on a machine loaded 7 deep), never a stall (bench/README.md, "One
# slow scoring request beside labeling"). Giving torch fewer threads did not change that.
worker_class = "gthread"
threads = 4
# Under gthread this is the worker's heartbeat from its main loop, not a limit on one request: a
# thread that scores for minutes does not stop it, so its worker and the other requests on it are
# not killed for that; a worker whose main loop hangs is still restarted after 30 s.
timeout = 30

# The request line without its query string: get_reward and rerank accept `?token=` (for RL
# clients that send no headers), and a token must not land in the log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
