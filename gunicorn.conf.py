"""Read by gunicorn from the working directory (the repo root, where the Procfile, the Dockerfile
and docker-compose start it)."""


def post_fork(server, worker):
    # After the fork, not before: a thread does not survive fork, and torch must not run in the
    # master whose memory the workers share. Each worker loads the current reward models at start
    # and any promoted later, so a first scoring request never waits seconds for a load.
    import annotator.wsgi  # noqa: F401  (Django set up; already imported under --preload)
    from rewardtrain.serving import start_scorer_warmer

    start_scorer_warmer()


# The request line without its query string: get_reward and rerank accept `?token=` (for RL
# clients that send no headers), and a token must not land in the log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(f)s" "%(a)s"'
