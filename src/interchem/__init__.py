"""interchem: interface chemistry of Si anodes with solid electrolytes."""

import os as _os

__version__ = "0.1.0"


def report_sigterm() -> None:
    """In jobs submitted by ``interchem submit`` (``INTERCHEM_REPORT_SIGTERM=1`` in their environment):
    SIGTERM (Slurm's ``scancel`` or time limit, before its SIGKILL) raises ``JobCancelledError``, which
    jobflow-remote records as the job's error, instead of killing the process silently (then the job's
    failure reads only "jfremote_out.json ... not present"). Installed at the first import of interchem,
    which in a job is the deserialisation of its function (``remote.warm_exec`` calls it in its forks)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def cancelled(signum, frame):
        from interchem.errors import JobCancelledError

        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process
        job = _os.environ.get("SLURM_JOB_ID")
        raise JobCancelledError(
            f"cancelled: the job{' (Slurm job ' + job + ')' if job else ''} received SIGTERM from the scheduler "
            "(scancel, or its time limit) and stopped; `interchem recover` reruns it"
        )

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, cancelled)


if _os.environ.get("INTERCHEM_REPORT_SIGTERM") == "1":
    report_sigterm()
