import numpy as np
import pytest

from autocode.codebook import Codebook, load_codebook
from autocode.errors import AutocodeError
from autocode.resources import default_codebook_path

BRIEF_LEAVES = {
    "tension.administrative": ["service_delivery", "service_improvement", "contracting"],
    "tension.partnering": ["dual_roles", "competing_demands", "joint_decisions"],
    "tension.talent_management": ["hiring_firing", "staffing", "training_needs"],
    "tension.clinical": ["bed_management", "care_foci", "follow_up", "referral_pathways"],
    "driver.physician_nonphysician_differences": ["leadership_priorities", "role_understanding"],
    "driver.interprofessional_relationship": ["personalities", "communication", "role_ambiguity"],
    "driver.time_pressures": [],
    "driver.financial_context": [],
    "driver.medical_subculture": [],
    "strategy.proactive_communication": ["engagement", "peer_advantage", "problem_focus"],
    "strategy.breaking_down_silos": ["common_ground", "trust", "creating_time"],
    "strategy.institutionalizing_partnership": ["work_groups", "away_days", "coaching"],
}


def test_default_codebook_has_every_code_of_the_study_brief():
    book = load_codebook(default_codebook_path())
    expected = {"tension", "driver", "strategy"} | set(BRIEF_LEAVES)
    expected |= {f"{cat}.{leaf}" for cat, leaves in BRIEF_LEAVES.items() for leaf in leaves}
    assert set(book.ids) == expected
    assert len(book.leaves()) == 30
    for code in book.codes:
        assert code.label and code.definition
        if book.is_leaf(code.id):
            assert code.examples, code.id


def test_hierarchy_and_closure(mini_codebook):
    book = mini_codebook
    assert book.ids[:5] == ["tension", "tension.beds", "tension.money", "tension.money.savings", "tension.money.contracts"]
    assert book.ancestors("tension.money.savings") == ["tension.money", "tension"]
    assert book.level_name("tension.money.savings") == "code"
    Y = np.zeros((1, len(book)), dtype=bool)
    Y[0, book.index["tension.money.contracts"]] = True
    closed = book.closure(Y)
    assert {book.ids[j] for j in np.flatnonzero(closed[0])} == {"tension.money.contracts", "tension.money", "tension"}
    P = np.zeros((1, len(book)))
    P[0, book.index["strategy.patients"]] = 0.9
    assert book.closure_max(P)[0, book.index["strategy"]] == pytest.approx(0.9)


def _spec(**code):
    return {"name": "x", "codes": [{"id": "a", "label": "A", "definition": "d", **code}]}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x"}, "codes"),
        (_spec(colour="red"), "codes.0.colour"),
        (_spec(children=[{"id": "b.c", "label": "B", "definition": "d"}]), "must start with its parent"),
        ({"name": "x", "codes": [{"id": "a", "label": "A", "definition": "d"}, {"id": "a", "label": "B", "definition": "e"}]}, "appears twice"),
        (_spec(id="a b"), "may hold only"),
    ],
)
def test_invalid_codebooks_name_the_key(tmp_path, data, message):
    with pytest.raises(AutocodeError, match=message):
        Codebook.from_spec(data, tmp_path / "book.yaml")


def test_yaml_errors_name_the_file(tmp_path):
    path = tmp_path / "book.yaml"
    path.write_text("name: x\ncodes: [\n")
    with pytest.raises(AutocodeError, match="book.yaml.*not valid YAML"):
        load_codebook(path)


def test_compatibility_lists_the_codes_that_differ(mini_codebook):
    with pytest.raises(AutocodeError, match="only in the codebook: strategy.patients.*only in the model: strategy.other"):
        mini_codebook.check_compatible([c for c in mini_codebook.ids if c != "strategy.patients"] + ["strategy.other"], "model")
    mini_codebook.check_compatible(list(mini_codebook.ids), "model")


def test_structure_hash_ignores_wording_but_not_codes(tmp_path, mini_codebook):
    data = mini_codebook.to_dict()
    data["codes"][0]["definition"] = "Reworded."
    assert Codebook.from_spec(data).structure_hash() == mini_codebook.structure_hash()
    data["codes"][0]["children"].pop(0)
    assert Codebook.from_spec(data).structure_hash() != mini_codebook.structure_hash()
