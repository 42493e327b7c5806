"""/readyz's and /metrics' checks of the database (entrypoints/patient_check.py): a check the
database does not answer is one run, which the callers share and none waits for past its
patience; once a run has ended, the next caller starts a new one."""

from __future__ import annotations

import asyncio

from sunap.entrypoints.patient_check import PatientCheck

PATIENCE = 0.05  # no timing is asserted: only who gets which answer, and how many runs


async def test_callers_of_a_run_past_its_patience_get_the_impatient_answer_and_share_it() -> None:
    answers = asyncio.Event()
    runs = 0

    async def check() -> bool:
        nonlocal runs
        runs += 1
        await answers.wait()  # the database does not answer until told to
        return True

    ready = PatientCheck(check, impatient=False, patience=PATIENCE)
    assert await ready() is False
    assert await asyncio.gather(ready(), ready()) == [False, False]  # the same run, outlived
    assert runs == 1

    answers.set()  # the database answers again: the stuck run ends by itself
    await asyncio.sleep(0)
    assert await ready() is True  # a new run's answer: a finished run's is never given again
    assert runs == 2


async def test_a_caller_that_gives_up_leaves_the_run_to_end_by_itself() -> None:
    answers = asyncio.Event()

    async def check() -> bool:
        await answers.wait()
        return True

    ready = PatientCheck(check, impatient=False, patience=60)
    waiting = asyncio.create_task(ready())
    await asyncio.sleep(0)
    waiting.cancel()  # /readyz's own deadline, or a client gone
    await asyncio.gather(waiting, return_exceptions=True)
    answers.set()
    assert await ready() is True  # the same run, not cut short by the caller leaving
