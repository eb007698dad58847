"""A partial bench run on a fresh clone (no raw results to merge with) replaces only its sections."""

from tests.bench.__main__ import splice

EXISTING = """# Benchmarks

Measured 2026-12-02 by `make bench`.

## Platform

| step | seconds |
|---|---|
| deploy | 24 |

## authz (in process)

old authz figures

### detail

old detail

## Web app (Chromium, warm, through the gateway)

web figures
"""


def test_a_re_measured_section_replaces_its_block_and_keeps_the_others() -> None:
    # Given a summary with three sections / When only the web section is re-measured
    updated = splice(EXISTING, _results(web={}), {"web"})

    # Then the other sections are kept word for word, and the run is named in the preamble
    assert "| deploy | 24 |" in updated
    assert "old authz figures" in updated
    assert "old detail" in updated
    assert "web figures" not in updated
    assert updated.count("## Web app (Chromium, warm, through the gateway)") == 1
    assert "Re-measured 2026-12-03T10:00:00+00:00 by `python -m tests.bench web`" in updated
    assert updated.index("## Platform") < updated.index("## authz") < updated.index("## Web app")


def test_a_section_the_summary_lacks_is_added_at_the_end() -> None:
    # Given a summary without the web section / When it is measured
    without_web = EXISTING.split("## Web app")[0]
    updated = splice(without_web, _results(web={}), {"web"})

    # Then it is appended after the existing ones, which stay
    assert updated.index("## authz") < updated.index("## Web app (Chromium, warm, through the gateway)")
    assert "old detail" in updated


def test_a_platform_section_replaces_only_its_own_table() -> None:
    # Given raw results holding only a fresh deploy timing (a fresh clone's partial run)
    updated = splice(EXISTING, _results(deploy={"cdk deploy": 31}), {"deploy"})

    # Then the Platform table is the new one and the other sections are untouched
    assert "| cdk deploy | 31 |" in updated
    assert "| deploy | 24 |" not in updated
    assert "old authz figures" in updated
    assert "web figures" in updated


def _results(**sections: object) -> dict[str, object]:
    machine = {"cpus": 2, "python": "3.13.0", "system": "Linux"}
    return {"measured_at": "2026-12-03T10:00:00+00:00", "machine": machine, **sections}
