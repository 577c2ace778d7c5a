"""The exported `api` interface's resource, where componentize-py looks for it."""

from wit_world import exports


class Counter(exports.api.Counter):
    def __init__(self, start: int) -> None:
        self.value = start

    def inc(self) -> int:
        self.value += 1
        return self.value

    def get(self) -> int:
        return self.value
