# Declarations of the fork support (csrc/wasmbind_fork.h): engine work without
# the GIL that a fork waits for, and the child's restart.

cdef extern from "wasmbind_fork.h" nogil:
    void wb_unlocked_begin()
    void wb_unlocked_end()
    void wb_fork_prepare()
    void wb_fork_child()
