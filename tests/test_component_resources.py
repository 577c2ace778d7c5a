"""Resources: guest-defined (handles with drop() and `with`, own moved into
the guest, borrows), host-defined (a Python class via add_resource), and
handles used after they were dropped or moved refused with a clear error."""

import pytest
from component_build import Blob

from wasmbind import WasmError
from wasmbind.component import ResourceHandle


def test_guest_resource_lifecycle(kitchen):
    api, _, _ = kitchen
    c = api["[constructor]counter"](10)
    assert isinstance(c, ResourceHandle) and c.owned and not c.dropped
    assert api["[method]counter.inc"](c) == 11
    assert api["[method]counter.get"](c) == 11
    assert api.peek_counter(c) == 11          # borrowed: still ours afterwards
    assert api["[method]counter.inc"](c) == 12
    assert api.take_counter(c) == 12          # own: moved into the component
    with pytest.raises(WasmError, match="moved into the component"):
        api.peek_counter(c)
    with pytest.raises(WasmError, match="moved"):
        c.drop()


def test_drop_and_context_manager(kitchen):
    api, _, _ = kitchen
    c = api["[constructor]counter"](1)
    c.drop()
    assert c.dropped and "dropped" in repr(c)
    with pytest.raises(WasmError, match="was dropped"):
        api["[method]counter.get"](c)
    with pytest.raises(WasmError, match="was dropped"):
        c.drop()
    with api["[constructor]counter"](5) as d:
        assert api["[method]counter.get"](d) == 5
    assert d.dropped


def test_wrong_value_for_a_resource(kitchen):
    api, _, _ = kitchen
    with pytest.raises(TypeError, match="ResourceHandle"):
        api.peek_counter(5)


def test_host_defined_resource(kitchen):
    api, _, _ = kitchen
    Blob.closed.clear()
    assert api.via_host_blob(b"abcd") == (4, 4)
    assert api.via_host_blob(b"") == (0, 0)
    # the guest dropped its blobs: wasmbind forgot them and called close()
    assert sorted(Blob.closed) == [b"", b"abcd"]
