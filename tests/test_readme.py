"""The README says what the repository holds: its spec is specs/quickstart.nn, and its
list of examples that run offline matches the examples' data sources."""

from __future__ import annotations

import re
from pathlib import Path

from specc.analysis import analyze_file
from specc.ir.data import AnyData
from specc.ir.registry import members

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Sources fetched from the network when absent: the data classes that say so.
DOWNLOADED = {cls.kind_name() for cls in members(AnyData).values() if cls.downloadable}


def test_the_readme_spec_is_the_quickstart_file() -> None:
    block = README.split("```\n# specs/quickstart.nn\n", 1)[1].split("```", 1)[0]
    quickstart = (ROOT / "specs" / "quickstart.nn").read_text(encoding="utf-8")
    assert block == quickstart.split("\n", 1)[1]  # all but the file's own header comment


def test_the_offline_list_matches_each_examples_data_source() -> None:
    section = README.split("### Which examples run offline", 1)[1].split("###", 1)[0]
    offline_part, download_part = section.split("- **Download the full MNIST**", 1)
    offline = set(re.findall(r"`specs/(\w+)\.nn`", offline_part))
    downloaded = set(re.findall(r"`specs/(\w+)\.nn`", download_part))
    for spec in sorted((ROOT / "specs").glob("*.nn")):
        analysis = analyze_file(str(spec))
        assert analysis.spec.data is not None, spec
        source = analysis.spec.data.kind_name()
        expected = downloaded if source in DOWNLOADED else offline
        assert spec.stem in expected, f"{spec.name} ({source}) is not listed where it belongs"
    assert offline.isdisjoint(downloaded)
