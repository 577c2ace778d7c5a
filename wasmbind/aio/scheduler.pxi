# The poll bridge's fairness: which async call may poll its guest next, per
# event loop. A poll runs a guest until it yields, which at an epoch tick can
# take a whole tick; if every task resumed in one turn of the loop polled, a
# thousand spinning guests would hold the loop for a thousand ticks. So the
# guests of one loop share a budget of guest time: while it lasts, a call polls
# at once (the common case costs a clock read); once it is spent, the loop
# gets a full turn (everything else that is ready runs) before the budget is
# renewed, and calls that want to poll meanwhile queue up, first come first
# served, and are woken one at a time. The loop thus gets control back after
# at most the budget plus one poll, and spinning guests take turns.

import weakref as _weakref
from collections import deque as _deque

cdef object _asyncio_running_loop = None


cdef object _running_loop():
    """The running event loop of this thread, or None. asyncio is imported on
    first use, not with wasmbind (it takes longer to import than wasmbind)."""
    global _asyncio_running_loop
    if _asyncio_running_loop is None:
        from asyncio import _get_running_loop
        _asyncio_running_loop = _get_running_loop
    return _asyncio_running_loop()


# Guest time (seconds) that may run before the loop gets a turn of its own.
cdef double _SLICE_BUDGET = 0.002


@cython.final
cdef class _LoopScheduler:
    cdef double budget
    cdef object waiters         # deque of loop futures, one per queued call
    # polls under way: a call polled inside another's poll (awaited by its host
    # coroutine) runs in that one's turn
    cdef int polling
    cdef bint renew_pending
    cdef object _renew_cb

    def __cinit__(self):
        self.budget = _SLICE_BUDGET
        self.waiters = _deque()
        self._renew_cb = self._renew

    cdef inline bint may_run(self):
        return self.polling or (self.budget > 0 and not self.waiters)

    cdef object wait_turn(self):
        """A future the calling task awaits; done when it may poll."""
        fut = _running_loop().create_future()
        self.waiters.append(fut)
        # with budget left it queued behind others, who wake it in turn
        if self.budget <= 0 and not self.renew_pending:
            self._schedule_renew()
        return fut

    cdef void spent(self, double seconds):
        self.budget -= seconds
        self.pass_on()

    cdef void pass_on(self):
        """After a poll, or when a woken call gives up its turn unused: wake the
        next queued call while the budget lasts, else renew it after a turn of
        the loop."""
        if self.budget > 0:
            while self.waiters:
                fut = self.waiters.popleft()
                if not fut.done():
                    fut.set_result(None)
                    return
        elif not self.renew_pending:
            self._schedule_renew()

    cdef void _schedule_renew(self):
        loop = _running_loop()
        if loop is None:  # a call driven by hand: nothing to be fair to
            self.budget = _SLICE_BUDGET
            return
        loop.call_soon(self._renew_cb)
        self.renew_pending = True

    def _renew(self):
        self.renew_pending = False
        self.budget = _SLICE_BUDGET
        self.pass_on()


# One scheduler per event loop, found from the running loop: the last one used
# first (one identity check), then a weak mapping so closed loops go away.
_schedulers = _weakref.WeakKeyDictionary()
_schedulers_strong = {}  # loops that take no weak references: kept for good
cdef object _last_loop = None
cdef _LoopScheduler _last_scheduler = None


cdef _LoopScheduler _scheduler_of(object loop):
    global _last_loop, _last_scheduler
    if loop is _last_loop:
        return _last_scheduler
    try:
        sched = _schedulers.get(loop)
        if sched is None:
            sched = _schedulers[loop] = _LoopScheduler()
    except TypeError:
        # (the loop is kept with its scheduler, so that its id is not reused)
        entry = _schedulers_strong.get(id(loop))
        if entry is None:
            entry = _schedulers_strong[id(loop)] = (loop, _LoopScheduler())
        sched = entry[1]
    _last_loop = loop
    _last_scheduler = sched
    return sched
