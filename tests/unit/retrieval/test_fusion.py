import numpy as np
import pytest
from echo_retrieval.fusion import Fusion


def test_minmax_combination_weighs_both_signals() -> None:
    fusion = Fusion(weight_dense=0.5)
    fused = fusion.combine(np.array([10.0, 0.0, 5.0]), np.array([0.2, 0.9, 0.55]))
    assert fused == pytest.approx([0.5, 0.5, 0.5])


def test_dense_weight_one_ranks_by_dense_only() -> None:
    fused = Fusion(weight_dense=1.0).combine(np.array([9.0, 1.0]), np.array([0.1, 0.8]))
    assert fused.argmax() == 1


def test_constant_scores_contribute_nothing() -> None:
    fused = Fusion(weight_dense=0.6, method="zscore").combine(np.zeros(3), np.array([0.1, 0.5, 0.3]))
    assert fused.argmax() == 1
    assert Fusion().normalize(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]


def test_zscore_maps_into_unit_interval() -> None:
    normalized = Fusion(method="zscore").normalize(np.array([0.0, 1.0, 100.0]))
    assert ((normalized > 0) & (normalized < 1)).all()


@pytest.mark.parametrize(("weight", "method"), [(-0.1, "minmax"), (1.1, "minmax"), (0.5, "rrf")])
def test_invalid_settings_are_refused(weight: float, method: str) -> None:
    with pytest.raises(ValueError, match="weight_dense"):
        Fusion(weight_dense=weight, method=method)
